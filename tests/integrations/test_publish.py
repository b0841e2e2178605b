"""``greennlp export`` ready to publish: the exported model's own card (metadata parsed by
huggingface_hub, no local path anywhere), tokenizer files for transformers 4.x and 5.x,
``--push-to-hub`` as a dry run and through a mocked ``upload_folder``; loaded classifiers
predict labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from greennlp import store
from greennlp.cli import app
from greennlp.record import ModelResult, RunRecord, StageResult
from tests.conftest import make_frame

runner = CliRunner()
ACC = {"value": 0.9, "low": 0.8, "high": 1.0}
TEXTS = ["a moving, witty film", "dull and boring", "great fresh story", "flat messy plot"]


@pytest.fixture(scope="module")
def encoder():
    """A tiny encoder classifier (untrained: these tests read files, not scores)."""
    from greennlp.config import TransformerConfig
    from greennlp.models.encoder import build_scratch_encoder

    frame = make_frame(120)
    cfg = TransformerConfig(vocab_size=200, hidden_size=16, num_layers=1, num_heads=2,
                            intermediate_size=32, max_length=32)
    return build_scratch_encoder(cfg, frame["text"].tolist(), ["neg", "pos"], 0)


@pytest.fixture
def runs(tmp_path, encoder):
    """A recorded run whose data came from a dataset saved to a local folder."""
    runs = tmp_path / "runs"
    root = runs / "20260101-000000-abcd"
    rec = RunRecord(run_id=root.name, run_dir=str(root), command="greennlp run",
                    status="completed", config={"data": {"source": "hf:./fine_foods_dsd"},
                                                "measure": {"region": "FRA"}},
                    data={"origin": "Hugging Face dataset ./fine_foods_dsd, published splits: "
                                    "train as train", "license": "mit"})
    encoder.save(root / "models" / "transformer" / "final")
    rec.add_stage(StageResult("train:transformer", duration_s=2.0, energy_kwh=1e-5,
                              energy_method="estimate:tdp", co2_kg=4e-6, cost_usd=1e-4))
    rec.add_model(ModelResult("transformer", "transformer", dev={"accuracy": ACC},
                              test={"accuracy": ACC, "macro_f1": ACC}, labels=["neg", "pos"],
                              checkpoint=str(root / "models" / "transformer" / "final"),
                              stages=["train:transformer"]))
    rec.save()
    store.upsert(runs, rec)
    return runs


def _invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def _strings(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


def test_the_export_has_its_own_card_and_no_local_path(tmp_path, runs):
    from huggingface_hub import ModelCard

    out = tmp_path / "export"
    result = _invoke("export", "20260101", "--out", out, "--output-dir", runs)
    assert result.exit_code == 0, result.output
    card = ModelCard.load(out / "README.md")
    meta = card.data.to_dict()
    assert meta["library_name"] == "transformers"
    assert meta["co2_eq_emissions"]["emissions"] == pytest.approx(4e-3)  # grams
    assert "datasets" not in meta and "model-index" not in meta  # a local folder is no Hub id
    assert meta["license"] == "mit" and meta["model_name"].endswith("transformer")
    assert "fine_foods_dsd" not in card.content
    assert "Test accuracy 0.900" in card.content and "## How to use" in card.content
    for path in out.glob("*.json"):  # nothing in any metadata names this machine
        for text in _strings(json.loads(path.read_text())):
            assert str(tmp_path) not in text and not text.startswith(("/", "./")), (path, text)


def test_the_tokenizer_files_name_a_class_transformers_4_knows(tmp_path, runs, encoder):
    """transformers 5 writes TokenizersBackend, which 4.x cannot load (the integration
    test loads the export under 4.x itself)."""
    from transformers import AutoTokenizer

    out = tmp_path / "export"
    assert _invoke("export", "20260101", "--out", out, "--output-dir", runs).exit_code == 0
    config = json.loads((out / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"
    ours = [e.ids for e in encoder.tokenizer.encode_batch(TEXTS)]
    assert AutoTokenizer.from_pretrained(out)(TEXTS)["input_ids"] == ours
    run_folder = runs / "20260101-000000-abcd" / "models" / "transformer" / "final"
    assert json.loads((run_folder / "tokenizer_config.json").read_text())[
        "tokenizer_class"] == "PreTrainedTokenizerFast"


def test_a_dry_run_lists_what_would_be_uploaded_and_sends_nothing(tmp_path, runs, monkeypatch):
    import huggingface_hub

    def refuse(*args, **kwargs):
        raise AssertionError("a dry run uploads nothing")
    monkeypatch.setattr(huggingface_hub, "upload_folder", refuse)
    monkeypatch.setattr(huggingface_hub, "create_repo", refuse)
    result = _invoke("export", "20260101", "--out", tmp_path / "e", "--push-to-hub",
                     "someone/tiny-reviews", "--private", "--dry-run", "--output-dir", runs)
    assert result.exit_code == 0, result.output
    assert "would upload" in result.output and "(private)" in result.output
    for name in ("README.md", "config.json", "model.safetensors", "tokenizer.json",
                 "tokenizer_config.json"):
        assert name in result.output


def test_push_to_hub_creates_the_repo_and_uploads_the_folder(tmp_path, runs, monkeypatch):
    import huggingface_hub

    calls = {}
    monkeypatch.setattr(huggingface_hub, "create_repo",
                        lambda repo, **kw: calls.update(create=(repo, kw)) or
                        f"https://huggingface.co/{repo}")
    monkeypatch.setattr(huggingface_hub, "upload_folder",
                        lambda **kw: calls.update(upload=kw))
    out = tmp_path / "e"
    result = _invoke("export", "20260101", "--out", out, "--push-to-hub", "someone/tiny",
                     "--private", "--output-dir", runs)
    assert result.exit_code == 0, result.output
    assert calls["create"] == ("someone/tiny", {"private": True, "exist_ok": True,
                                                "repo_type": "model"})
    assert calls["upload"]["repo_id"] == "someone/tiny"
    assert Path(calls["upload"]["folder_path"]) == out
    assert 'model="someone/tiny"' in (out / "README.md").read_text()  # the usage example


@pytest.mark.parametrize("args, says", [
    (["--push-to-hub", "../x"], "is not a Hub repository id"),
    (["--private"], "go with --push-to-hub"),
])
def test_bad_publishing_options_are_one_sentence(tmp_path, runs, args, says):
    result = _invoke("export", "20260101", "--out", tmp_path / "e", *args, "--output-dir", runs)
    assert result.exit_code == 2 and says in result.output and "Traceback" not in result.output
    assert not (tmp_path / "e").exists()  # refused before any work


def test_an_unreachable_hub_is_one_sentence(tmp_path, runs, monkeypatch):
    import huggingface_hub

    def offline(*args, **kwargs):
        raise OSError("Failed to resolve 'huggingface.co'")
    monkeypatch.setattr(huggingface_hub, "create_repo", offline)
    result = _invoke("export", "20260101", "--out", tmp_path / "e", "--push-to-hub", "a/b",
                     "--output-dir", runs)
    assert result.exit_code == 2 and "Could not upload" in result.output
    assert "Traceback" not in result.output


def test_loaded_classifiers_predict_labels_and_offer_a_transformers_tokenizer(encoder):
    from greennlp.config import TfidfConfig
    from greennlp.models.tfidf import TfidfLogReg

    frame = make_frame(120)
    tfidf = TfidfLogReg(TfidfConfig()).fit(frame["text"], frame["label"])
    for model in (encoder, tfidf):
        expected = [model.labels[i] for i in model.predict_proba(TEXTS).argmax(1)]
        assert model.predict(TEXTS) == expected == model(TEXTS)
        assert model(TEXTS[0]) == expected[0] and model.predict([]) == []
    batch = encoder.hf_tokenizer(TEXTS, padding=True, return_tensors="pt")
    import torch

    with torch.inference_mode():
        logits = encoder.model(input_ids=batch["input_ids"],
                               attention_mask=batch["attention_mask"]).logits
    assert torch.allclose(logits.softmax(-1), torch.tensor(encoder.predict_proba(TEXTS)),
                          atol=1e-5)
