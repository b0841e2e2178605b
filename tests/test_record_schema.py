"""The typed record: records written before it (schema 1) load, re-render, and read back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from greennlp.cli import app
from greennlp.errors import UserError
from greennlp.record import (SCHEMA_VERSION, PieAudit, RunRecord, SearchState, SeedRuns,
                             Training, VariantInfo)

FIXTURES = Path(__file__).parent / "fixtures" / "records"


def _copy(name: str, runs: Path) -> Path:
    """A schema-1 run folder (its record only) under ``runs``, as a user's would be."""
    raw = json.loads((FIXTURES / name / "record.json").read_text())
    folder = runs / raw["run_id"]
    folder.mkdir(parents=True)
    shutil.copy(FIXTURES / name / "record.json", folder / "record.json")
    return folder


def test_a_schema_1_classification_record_loads_typed():
    raw = json.loads((FIXTURES / "v1-classification" / "record.json").read_text())
    assert "schema_version" not in raw
    record = RunRecord.from_dict(raw)
    assert record.schema_version == SCHEMA_VERSION
    assert isinstance(record.search["transformer"], SearchState)
    assert record.search["transformer"].trials[0].params == raw["search"]["transformer"]["trials"][0]["params"]
    assert isinstance(record.seed_runs["transformer"], SeedRuns)
    assert record.seed_runs["transformer"].summary["test_accuracy"].n == 3
    assert isinstance(record.compression.pie, PieAudit)
    assert record.compression.reference == "transformer"
    best = record.model("transformer")
    assert isinstance(best.training, Training) and best.training.selected_trial is not None
    assert best.compression is None  # dense models had {}
    variant = record.model("transformer+prune-50")
    assert isinstance(variant.compression, VariantInfo)
    assert variant.compression.method == "pruning" and variant.compression.get("sparsity") > 0
    # the test gate's ledger is rebuilt; every pass stays counted
    assert "transformer" in record.tested and "seed:transformer:s2698" in record.tested
    assert record.audit_test_evaluations == raw["compression"]["audit_test_evaluations"]
    assert record.test_evaluations == raw["test_evaluations"]
    assert RunRecord.from_dict(record.to_dict()).to_dict() == record.to_dict()


@pytest.mark.parametrize("name, sections", [
    ("v1-classification", ("Hyperparameter search", "Pareto frontier",
                           "pruning-identified exemplars", "Early exit: transformer+early-exit")),
    ("v1-lm", ("Language models", "Scaling sweep", "bits per character")),
])
def test_greennlp_report_rerenders_a_schema_1_run(name, sections, tmp_path):
    runs = tmp_path / "runs"
    folder = _copy(name, runs)
    result = CliRunner().invoke(app, ["report", folder.name, "--output-dir", str(runs)])
    assert result.exit_code == 0, result.output
    html = (folder / "report.html").read_text()
    for section in sections:
        assert section in html, section
    for report in ("MODEL_CARD.md", "DATASHEET.md", "CHECKLIST.md"):
        assert (folder / report).stat().st_size > 500
    assert json.loads((folder / "record.json").read_text()).get("schema_version") is None  # read-only


def test_a_record_from_a_newer_greennlp_is_refused_clearly():
    raw = json.loads((FIXTURES / "v1-lm" / "record.json").read_text())
    with pytest.raises(UserError, match="newer than this greennlp understands"):
        RunRecord.from_dict(dict(raw, schema_version=SCHEMA_VERSION + 1))


@pytest.mark.parametrize("name", ["v1-classification", "v1-lm"])
def test_an_old_config_reads_back_with_one_data_section(name):
    """Before the one data path an LM run's corpus was ``lm.corpus``; it is the run's
    ``data`` now, and a split's rows are its ``size`` for every task."""
    from greennlp.compress.stages import compress_config
    from greennlp.config import config_from_record, from_dict, RunConfig

    raw = json.loads((FIXTURES / name / "record.json").read_text())
    record = RunRecord.from_dict(raw)
    cfg = config_from_record(record.config)  # what --resume rebuilds
    assert compress_config(record.config, None, (), "runs").data == cfg.data
    if name == "v1-lm":
        old = raw["config"]["lm"]["corpus"]
        assert (cfg.data.source, cfg.data.split, cfg.data.block_documents) == (
            old["source"], "blocks", old["block_documents"])
        assert cfg.data.documents == "lines"  # a .txt corpus was read by lines then
        assert cfg.data.test_fraction == old["test_fraction"] and cfg.data.max_examples is None
        sizes = {n: s["size"] for n, s in record.data["stats"]["splits"].items()}
        assert sizes == record.data["split"]["sizes"]
    else:
        assert cfg.data == from_dict(RunConfig, {"data": raw["config"]["data"]}).data


def test_an_old_lm_run_resumes_and_reloads_its_saved_splits(tmp_path):
    """A run folder written before schema 4 (splits saved as one text column) resumes."""
    import pandas as pd

    from greennlp import tasks
    from greennlp.tasks.lm_stages import stage_corpus

    runs = tmp_path / "runs"
    folder = _copy("v1-lm", runs)
    raw = json.loads((folder / "record.json").read_text())
    raw.update(status="failed", run_dir=str(folder))
    (folder / "record.json").write_text(json.dumps(raw))
    sizes = raw["data"]["split"]["sizes"]
    (folder / "data").mkdir()
    for n, size in sizes.items():
        pd.DataFrame({"text": [f"{n} document {i}" for i in range(size)]}).to_parquet(
            folder / "data" / f"{n}.parquet", index=False)
    run = tasks.resume(raw["run_id"], str(runs), log=lambda m: None)
    assert run.cfg.data.source == "dialogs.txt" and run.cfg.data.split == "blocks"
    stage_corpus(run)  # finished: reloaded, not redone
    assert run.splits.texts("test")[:2] == ["test document 0", "test document 1"]
    assert {n: len(run.splits.texts(n)) for n in sizes} == sizes
