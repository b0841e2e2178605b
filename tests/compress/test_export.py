"""``greennlp export``: a run's classifier opens in transformers.pipeline and plain ONNX
Runtime, both agreeing with greennlp's own predictions on real text."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from greennlp import store
from greennlp.cli import app
from greennlp.models import load_model
from greennlp.record import ModelResult, RunRecord

runner = CliRunner()
REAL_TEXT = ["A moving, witty film with a lovely story.", "Dull, tired and messy: a boring plot.",
             "The director's best movie in years!", "flat", "great great great fresh superb"]
ACC = {"value": 0.9, "low": 0.8, "high": 1.0}


@pytest.fixture
def run_dir(tmp_path, trained, splits):
    """A recorded run with the tiny trained encoder, its torch int8 variant and a TF-IDF."""
    from greennlp.config import TfidfConfig
    from greennlp.models.int8 import TorchInt8Classifier, quantize_linear_int8
    from greennlp.models.tfidf import TfidfLogReg

    root = tmp_path / "runs" / "20260101-000000-abcd"
    rec = RunRecord(run_id=root.name, run_dir=str(root), command="greennlp run", status="completed")
    trained.save(root / "models" / "transformer" / "final")
    int8 = TorchInt8Classifier(quantize_linear_int8(trained.model), trained.tokenizer,
                               trained.labels, trained.max_length, trained.family,
                               trained.parameter_counts())
    int8.save(root / "compress" / "int8")
    tfidf = TfidfLogReg(TfidfConfig()).fit(splits.train["text"], splits.train["label"])
    tfidf.save(root / "models" / "tfidf_logreg" / "final")
    rec.add_model(ModelResult("transformer", "transformer", dev={"accuracy": ACC},
                              checkpoint=str(root / "models" / "transformer" / "final")))
    rec.add_model(ModelResult("tfidf_logreg", "tfidf_logreg", dev={"accuracy": {**ACC, "value": .5}},
                              checkpoint=str(root / "models" / "tfidf_logreg" / "final")))
    rec.add_model(ModelResult("transformer+int8-torch", "transformer", variant_of="transformer",
                              checkpoint=str(root / "compress" / "int8")))
    rec.save()
    store.upsert(tmp_path / "runs", rec)
    return root


def _export(tmp_path, ref, fmt, out):
    return runner.invoke(app, ["export", ref, "--format", fmt, "--out", str(out),
                               "--output-dir", str(tmp_path / "runs")])


def test_onnx_export_runs_in_plain_onnxruntime_and_agrees(tmp_path, run_dir, trained):
    import onnxruntime as ort
    from tokenizers import Tokenizer

    result = _export(tmp_path, run_dir.name[:12], "onnx", tmp_path / "onnx")  # the best model
    assert result.exit_code == 0, result.output
    out = tmp_path / "onnx"
    # the documented signature, with nothing from greennlp
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input_ids", "attention_mask"]
    assert [o.name for o in session.get_outputs()] == ["logits"]
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    pad = json.loads((out / "config.json").read_text())["pad_token_id"]
    tok.enable_padding(pad_id=pad)
    enc = tok.encode_batch(REAL_TEXT)
    logits = session.run(["logits"], {
        "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64)})[0]
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = trained.predict_proba(REAL_TEXT)
    np.testing.assert_allclose(proba, expected, atol=1e-5)
    labels = json.loads((out / "config.json").read_text())["id2label"]
    assert [labels[str(i)] for i in range(len(labels))] == trained.labels
    # greennlp reopens the export too
    np.testing.assert_allclose(load_model(out).predict_proba(REAL_TEXT), expected, atol=1e-5)


def test_hf_export_opens_in_the_pipeline_and_agrees(tmp_path, run_dir, trained):
    from transformers import pipeline

    result = _export(tmp_path, f"{run_dir.name}:transformer", "hf", tmp_path / "hf")
    assert result.exit_code == 0, result.output
    pipe = pipeline("text-classification", model=str(tmp_path / "hf"), device="cpu")
    out = pipe(REAL_TEXT, truncation=True, top_k=None)
    got = np.array([[next(d["score"] for d in row if d["label"] == lab) for lab in trained.labels]
                    for row in out])
    np.testing.assert_allclose(got, trained.predict_proba(REAL_TEXT), atol=1e-5)
    assert [max(row, key=lambda d: d["score"])["label"] for row in out] == \
        [trained.labels[i] for i in trained.predict_proba(REAL_TEXT).argmax(1)]


def test_the_run_folder_itself_opens_in_the_pipeline(run_dir, trained):
    from transformers import pipeline

    pipe = pipeline("text-classification", model=str(run_dir / "models" / "transformer" / "final"),
                    device="cpu")
    assert [r["label"] for r in pipe(REAL_TEXT, truncation=True)] == \
        [trained.labels[i] for i in trained.predict_proba(REAL_TEXT).argmax(1)]


@pytest.mark.parametrize("ref, fmt, says", [
    (":transformer+int8-torch", "onnx", "PyTorch int8"),
    (":tfidf_logreg", "hf", "not a transformer classifier"),
    (":nope", "onnx", "has no model 'nope'"),
    (":transformer", "tflite", "Unknown export format"),
])
def test_what_cannot_be_exported_is_one_sentence(tmp_path, run_dir, ref, fmt, says):
    result = _export(tmp_path, run_dir.name + ref, fmt, tmp_path / "x")
    assert result.exit_code == 2 and says in result.output and "Traceback" not in result.output
