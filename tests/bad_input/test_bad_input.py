"""Every bad input: exit code 2, one sentence and no traceback, the run recorded as failed
in the right registry, and nothing else changed on disk.

Each case makes its tiny file or setting in the test's folder (tests/bad_input/cases.py)
and fails at the config or data checks, before any model is built.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from greennlp import store
from greennlp.cli import app
from tests.bad_input.cases import CONFIG_CASES, DATA_CASES

runner = CliRunner()
CASES = {**CONFIG_CASES, **DATA_CASES}
# first, so that a case's own setting wins; should a case pass, its run stays small
SMALL = ["models=[tfidf_logreg]", "search.enabled=false", "seeds.count=1", "compress.methods=[]",
         "data.max_examples=200"]


def snapshot(folder: Path, skip: Path | None = None) -> dict[str, bytes]:
    """Every file under ``folder`` (outside ``skip``) with its content."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not (skip and p.is_relative_to(skip))}


def one_sentence(output: str) -> str:
    """The one error line of a run that failed on bad input."""
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    return errors[0]


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_sentence_and_a_failed_run(tmp_path, monkeypatch, name):
    case = CASES[name]
    monkeypatch.chdir(tmp_path)  # a run recorded in the wrong place would land in ./runs
    args = case.make(tmp_path)
    registry = case.where(tmp_path)
    out_arg = [] if registry != tmp_path / "runs" else [f"output_dir={registry}"]
    before = snapshot(tmp_path)
    result = runner.invoke(app, ["run", *SMALL, *args, *out_arg])
    assert result.exit_code == 2, result.output
    line = one_sentence(result.output)
    assert case.message in line, line
    runs = store.list_runs(registry)
    assert len(runs) == 1 and runs[0]["status"] == "failed", runs
    assert case.message.split("'")[0] in runs[0]["error"]
    # nothing changed outside the registry; inside it, only the failed run's own files
    assert snapshot(tmp_path, skip=registry) == before
    assert not (tmp_path / "runs").exists() or registry == tmp_path / "runs"
    run_dir = registry / runs[0]["run_id"]
    kept = {p.name for p in run_dir.iterdir() if not p.name.startswith(".")}
    assert kept == {"record.json"}, kept
    assert {p.name for p in registry.iterdir()} - {runs[0]["run_id"]} <= {
        store.REGISTRY_NAME, store.REGISTRY_NAME + "-wal", store.REGISTRY_NAME + "-shm"}


def test_the_suite_covers_at_least_forty_inputs():
    assert len(CASES) >= 40
