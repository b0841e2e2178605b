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
