"""Any Hugging Face encoder as the pretrained model: tiny random BERT, RoBERTa and DistilBERT
built from configs in a temporary folder (nothing downloaded), their save_pretrained folders
opened by transformers, and the errors for models that are not there."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from greennlp.errors import UserError
from greennlp.models import load_model
from greennlp.models.pretrained import (
    base_model_facts,
    load_pretrained,
    pretrained_layers,
)
from tests.compress.conftest import tiny_splits
from tests.models.tiny_hf import KINDS, OTHER, make_tiny_encoder

REAL_TEXT = ["A moving, witty film with a lovely story.", "Dull, tired and messy: a boring plot.",
             "The director's best movie in years 2024!", "flat"]


@pytest.fixture(scope="module")
def encoders(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    return {kind: make_tiny_encoder(kind, root / kind) for kind in KINDS}


@pytest.fixture(scope="module")
def splits():
    return tiny_splits()


def _pipeline_proba(folder, labels, texts):
    from transformers import pipeline

    pipe = pipeline("text-classification", model=str(folder), device="cpu")
    out = pipe(texts, truncation=True, top_k=None)
    return np.array([[next(d["score"] for d in row if d["label"] == lab) for lab in labels]
                     for row in out])


@pytest.mark.parametrize("kind", KINDS)
def test_any_encoder_loads_saves_and_opens_in_transformers(kind, encoders, splits, tmp_path):
    from transformers import AutoConfig, AutoModelForSequenceClassification

    clf = load_pretrained(str(encoders[kind]), splits.labels, 32)
    assert clf.family == "pretrained" and pretrained_layers(str(encoders[kind])) == 3
    proba = clf.predict_proba(REAL_TEXT)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)
    folder = clf.save(tmp_path / "saved")
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == kind
    assert config["id2label"] == {str(i): lab for i, lab in enumerate(splits.labels)}
    assert config["label2id"] == {lab: i for i, lab in enumerate(splits.labels)}
    assert (folder / "model.safetensors").exists() and (folder / "tokenizer_config.json").exists()
    # greennlp's loader and transformers' Auto classes and pipeline give the same predictions
    np.testing.assert_allclose(load_model(folder).predict_proba(REAL_TEXT), proba, atol=1e-6)
    assert AutoConfig.from_pretrained(folder).num_labels == len(splits.labels)
    auto = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    batch = clf.collate(clf.encode(REAL_TEXT[:1]))
    with torch.inference_mode():
        np.testing.assert_allclose(torch.softmax(auto(**batch).logits, -1).numpy(), proba[:1],
                                   atol=1e-5)
    np.testing.assert_allclose(_pipeline_proba(folder, splits.labels, REAL_TEXT), proba,
                               atol=1e-5)


def test_a_hub_id_neither_cached_nor_reachable_is_one_sentence(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match="neither a local folder nor in the Hugging Face cache"):
        load_pretrained("greennlp-tests/no-such-model", ["a", "b"], 32)


def test_a_folder_without_weights_or_config_is_one_sentence(encoders, tmp_path):
    empty = tmp_path / "no-weights"
    empty.mkdir()
    (empty / "config.json").write_text((encoders["bert"] / "config.json").read_text())
    with pytest.raises(UserError, match="has no model weights"):
        load_pretrained(str(empty), ["a", "b"], 32)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(UserError, match="has no config.json"):
        load_pretrained(str(tmp_path / "nothing"), ["a", "b"], 32)
    with pytest.raises(UserError, match="does not exist"):
        load_pretrained(str(tmp_path / "missing" / "folder"), ["a", "b"], 32)


def test_an_architecture_without_a_classification_head_is_one_sentence(tmp_path):
    from transformers import ViTConfig, ViTModel

    config = ViTConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=32, image_size=8, patch_size=4)
    ViTModel(config).save_pretrained(tmp_path / "vit")
    with pytest.raises(UserError, match="'vit' model, which has no sequence classification"):
        load_pretrained(str(tmp_path / "vit"), ["a", "b"], 32)


def test_base_model_facts_name_hub_ids_and_licenses_but_never_local_paths(encoders, tmp_path):
    assert base_model_facts(str(encoders["bert"])) == {"base_model": None, "license": None}
    from greennlp.models.pretrained import minilm_dir

    if minilm_dir() is not None:
        assert base_model_facts("") == {"base_model": "sentence-transformers/all-MiniLM-L6-v2",
                                        "license": "apache-2.0"}


@pytest.mark.parametrize("kind", KINDS)
def test_every_compressor_takes_any_encoder(kind, encoders, splits, tmp_path):
    from greennlp.compress.base import Context
    from greennlp.compress.distill import Distiller
    from greennlp.compress.onnx_int8 import OnnxRuntimeInt8
    from greennlp.compress.pruning import prunable
    from greennlp.compress.quantize import TorchDynamicInt8
    from tests.compress.conftest import FAST

    clf = load_pretrained(str(encoders[kind]), splits.labels, 32)
    texts = splits.dev["text"].tolist()
    proba = clf.predict_proba(texts)
    assert len(prunable(clf.model)) == 3 * 6  # Q, K, V, output, two feed-forward per block
    ctx = Context(splits=splits, seed=0, work_dir=tmp_path, log=lambda m: None)
    for comp in (OnnxRuntimeInt8(), TorchDynamicInt8()):
        variant = comp.compress(clf, ctx)
        assert np.abs(variant.predict_proba(texts) - proba).max() < 0.01, comp.name
        np.testing.assert_allclose(load_model(variant.save(tmp_path / comp.name))
                                   .predict_proba(texts), variant.predict_proba(texts), atol=1e-6)
    student = Distiller(2, FAST).compress(clf, ctx)
    assert student.model.config.model_type == kind and student.model.config.num_hidden_layers == 2
    assert student.parameter_counts()["total"] < clf.parameter_counts()["total"]


@pytest.mark.parametrize("kind", KINDS)
def test_early_exit_loop_equals_the_full_forward_of_any_encoder(kind, encoders, splits, tmp_path):
    from greennlp.compress.early_exit import copy_with_exits
    from greennlp.models.early_exit import EarlyExitClassifier

    clf = load_pretrained(str(encoders[kind]), splits.labels, 32)
    with torch.no_grad():  # a trained-looking head, so that the exits are not all alike
        for p in clf.model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    net = copy_with_exits(clf.model, [1, 2])
    texts = splits.dev["text"].tolist()[:24] + REAL_TEXT
    ee = EarlyExitClassifier(net, clf.__class__(net.base, clf.tokenizer, clf.labels, 32,
                                                clf.family), 1.0)
    full = clf.predict_proba(texts)
    np.testing.assert_allclose(ee.predict_proba(texts), full, atol=1e-5)  # threshold 1: no exit
    logits = ee.exit_logits(texts)  # one pass, every exit; the last is the model's own head
    np.testing.assert_allclose(torch.softmax(torch.from_numpy(logits[-1]), -1).numpy(), full,
                               atol=1e-5)
    low = ee.with_threshold(0.0)  # everything leaves at the first exit, as its head says
    np.testing.assert_allclose(low.predict_proba(texts),
                               torch.softmax(torch.from_numpy(logits[0]), -1).numpy(), atol=1e-5)
    assert set(low.last_depths_) == {1}
    from greennlp.models.early_exit import simulate_exits

    first = torch.softmax(torch.from_numpy(logits[0]), -1).numpy().max(1)
    mid = ee.with_threshold(float(np.median(first)))  # about half leave at the first exit
    proba, depth = simulate_exits(logits, net.temperatures.tolist(), net.depths, mid.threshold)
    np.testing.assert_allclose(mid.predict_proba(texts), proba, atol=1e-5)
    assert (mid.last_depths_ == depth).all() and len(set(depth)) > 1
    again = load_model(low.save(tmp_path / "ee"))
    np.testing.assert_allclose(again.predict_proba(texts), low.predict_proba(texts), atol=1e-6)


def test_early_exit_refuses_an_architecture_it_cannot_handle(splits, tmp_path):
    from greennlp.compress.early_exit import copy_with_exits

    clf = load_pretrained(str(make_tiny_encoder(OTHER, tmp_path / OTHER)), splits.labels, 32)
    with pytest.raises(UserError, match="Early exit handles bert, roberta, distilbert encoders"):
        copy_with_exits(clf.model, [1])


def test_the_bundled_minilm_saved_by_greennlp_opens_in_the_pipeline(tmp_path):
    from greennlp.models.pretrained import load_minilm, minilm_dir

    if minilm_dir() is None:
        pytest.skip("pretrained extra not installed")
    clf = load_minilm(["neg", "pos"], max_length=32)
    folder = clf.save(tmp_path / "minilm")
    np.testing.assert_allclose(_pipeline_proba(folder, clf.labels, REAL_TEXT),
                               clf.predict_proba(REAL_TEXT), atol=1e-5)


def test_a_transformers_classifier_folder_greennlp_did_not_write_loads(encoders, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = tmp_path / "theirs"
    model = AutoModelForSequenceClassification.from_pretrained(
        encoders["roberta"], num_labels=2, id2label={0: "bad", 1: "good"},
        label2id={"bad": 0, "good": 1}).eval()
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(encoders["roberta"]).save_pretrained(folder)
    clf = load_model(folder)
    assert clf.labels == ["bad", "good"] and clf.family == "pretrained"
    np.testing.assert_allclose(clf.predict_proba(REAL_TEXT),
                               _pipeline_proba(folder, clf.labels, REAL_TEXT), atol=1e-5)


def test_a_hub_id_loads_from_the_hugging_face_cache_when_offline(encoders, tmp_path, monkeypatch):
    """The cache layout huggingface_hub writes (refs/main -> snapshots/<commit>/...), made
    here from the tiny BERT: the id loads with the Hub off, and the card names the id."""
    import shutil

    from huggingface_hub import constants

    repo = tmp_path / "hub" / "models--greennlp-tests--tiny-bert"
    commit = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(encoders["bert"], repo / "snapshots" / commit)
    (repo / "snapshots" / commit / "README.md").write_text("---\nlicense: mit\n---\n")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    clf = load_pretrained("greennlp-tests/tiny-bert", ["neg", "pos"], 32)
    assert clf.model.config.model_type == "bert" and pretrained_layers("greennlp-tests/tiny-bert") == 3
    assert base_model_facts("greennlp-tests/tiny-bert") == {"base_model": "greennlp-tests/tiny-bert",
                                                            "license": "mit"}
