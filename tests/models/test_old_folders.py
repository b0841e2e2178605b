"""Model folders written before the transformers and skops formats still load."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pytest
from safetensors.torch import save_file

from greennlp.config import TfidfConfig
from greennlp.models import load_model
from greennlp.models.tfidf import TfidfLogReg
from tests.compress.conftest import tiny_classifier, tiny_splits


def test_an_encoder_folder_of_greennlp_0_1_loads(tmp_path):
    splits = tiny_splits()
    clf = tiny_classifier(splits, train=False)
    folder = tmp_path / "old"
    folder.mkdir()  # what EncoderClassifier.save wrote before save_pretrained
    save_file({k: v.contiguous() for k, v in clf.model.state_dict().items()},
              str(folder / "model.safetensors"))
    clf.tokenizer.save(str(folder / "tokenizer.json"))
    hf_config = clf.model.config.to_dict()
    hf_config.pop("model_type")  # 0.1 configs were BERT's, whatever they said
    (folder / "greennlp_model.json").write_text(json.dumps(
        {"family": "transformer", "labels": clf.labels, "max_length": clf.max_length,
         "hf_config": hf_config}))
    texts = splits.dev["text"].tolist()
    np.testing.assert_allclose(load_model(folder).predict_proba(texts), clf.predict_proba(texts),
                               atol=1e-6)


def test_tfidf_is_saved_with_skops_and_an_old_joblib_folder_loads_with_a_warning(tmp_path):
    splits = tiny_splits()
    model = TfidfLogReg(TfidfConfig()).fit(splits.train["text"], splits.train["label"])
    folder = model.save(tmp_path / "new")
    assert (folder / "model.skops").exists() and not (folder / "model.joblib").exists()
    texts = splits.dev["text"].tolist()
    np.testing.assert_allclose(load_model(folder).predict_proba(texts), model.predict_proba(texts))
    old = tmp_path / "old"
    old.mkdir()
    joblib.dump(model.pipeline_, old / "model.joblib")  # greennlp 0.1: no metadata at all
    with pytest.warns(UserWarning, match="pickle"):
        loaded = load_model(old)
    np.testing.assert_allclose(loaded.predict_proba(texts), model.predict_proba(texts))


def test_an_onnx_folder_with_its_old_metadata_file_loads(tmp_path):
    from greennlp.compress.base import Context
    from greennlp.compress.onnx_int8 import OnnxRuntimeInt8

    splits = tiny_splits()
    clf = tiny_classifier(splits, train=False)
    ctx = Context(splits=splits, seed=0, work_dir=tmp_path / "work", log=lambda m: None)
    variant = OnnxRuntimeInt8().compress(clf, ctx)
    folder = variant.save(tmp_path / "onnx")
    assert json.loads((folder / "greennlp_model.json").read_text())["family"] == clf.family
    # ONNX folders named their metadata greennlp_onnx.json before one writer wrote them all
    (folder / "greennlp_model.json").rename(folder / "greennlp_onnx.json")
    texts = splits.dev["text"].tolist()
    np.testing.assert_allclose(load_model(folder).predict_proba(texts),
                               variant.predict_proba(texts), atol=1e-6)
