"""A run whose pretrained model is a local Hugging Face folder (a tiny random BERT built
here) goes through search, seeds and compression; bad pretrained models fail in one
sentence, exit 2, with the run recorded as failed."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from greennlp import store, tasks
from greennlp.cli import app
from greennlp.tasks import load_config
from tests.conftest import TINY_OVERRIDES
from tests.models.tiny_hf import OTHER, make_tiny_encoder

SEARCH = ("search.families={pretrained: {trials: 2, max_epochs: 1, space: "
          "{lr: {dist: loguniform, low: 0.0003, high: 0.003}, seed: {dist: int, low: 0, high: 99}}}}")


def _overrides(csv_path, tmp_path, encoder, *extra, models="[tfidf_logreg,pretrained]"):
    return [f"data.source={csv_path}", "data.group_column=movie",
            f"output_dir={tmp_path / 'runs'}", *TINY_OVERRIDES, f"models={models}",
            f"pretrained.name_or_path={encoder}", "pretrained.max_length=32",
            "pretrained.train.epochs=1", "pretrained.train.lr=0.001",
            "pretrained.train.batch_size=16", *extra]


@pytest.mark.integration  # a whole run: search, seeds, three compressors
def test_a_local_encoder_goes_through_search_seeds_and_compression(csv_path, tmp_path):
    encoder = make_tiny_encoder("bert", tmp_path / "tiny-bert")
    cfg = load_config(None, _overrides(
        csv_path, tmp_path, encoder, "search.enabled=true", SEARCH, "seeds.models=[pretrained]",
        "seeds.count=2", "compress.methods=[quantize,distill,early_exit]",
        "compress.reference=pretrained", "compress.distill.layers=2", "compress.energy_seconds=0",
        "compress.distill.train.epochs=1", "compress.early_exit.model=pretrained",
        "compress.early_exit.train.max_steps=5",
        "compress.skip_failed=false",  # a tiny random encoder learns nothing: compress it anyway
        models="[pretrained]"))
    run = tasks.start(cfg, log=lambda m: None)
    record = tasks.execute(run)
    assert record.status == "completed", record.error
    names = [s.name for s in record.stages]
    assert "search:pretrained:trial000" in names and "search:pretrained:trial001" in names
    assert any(n.startswith("seed:pretrained:") for n in names)
    variants = {m.name for m in record.models if m.variant_of == "pretrained"}
    assert {"pretrained+int8-torch", "pretrained+onnx-int8", "pretrained+distill-L2",
            "pretrained+early-exit"} <= variants, variants
    pretrained = record.model("pretrained")
    config = json.loads((run.run_dir / "models" / "pretrained" / "final" / "config.json")
                        .read_text())
    assert config["model_type"] == "bert" and set(config["label2id"]) == set(pretrained.labels)
    card = (run.run_dir / "MODEL_CARD.md").read_text()
    assert str(encoder) not in card.split("---")[1]  # no local path in the metadata


def test_early_exit_on_an_architecture_it_cannot_handle_fails_before_training(csv_path, tmp_path):
    encoder = make_tiny_encoder(OTHER, tmp_path / "tiny-electra")
    result = CliRunner().invoke(app, ["run", *_overrides(
        csv_path, tmp_path, encoder, "compress.methods=[early_exit]",
        "compress.early_exit.model=pretrained")])
    assert result.exit_code == 2 and "Early exit handles bert, roberta, distilbert encoders" \
        in result.output and "Traceback" not in result.output
    assert store.list_runs(tmp_path / "runs")[0]["status"] == "failed"


@pytest.mark.parametrize("name, says", [
    ("greennlp-tests/not-cached", "neither a local folder nor in the Hugging Face cache"),
    ("EMPTY", "has no model weights"),
])
def test_a_pretrained_model_that_is_not_there_is_one_sentence(csv_path, tmp_path, monkeypatch,
                                                              name, says):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    if name == "EMPTY":
        (tmp_path / "empty").mkdir()
        (tmp_path / "empty" / "config.json").write_text('{"model_type": "bert"}')
        name = str(tmp_path / "empty")
    result = CliRunner().invoke(app, ["run", *_overrides(csv_path, tmp_path, name)])
    assert result.exit_code == 2 and says in result.output and "Traceback" not in result.output
    runs = store.list_runs(tmp_path / "runs")
    assert runs and runs[0]["status"] == "failed"
