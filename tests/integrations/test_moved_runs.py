"""Run folders that move: paths inside a run are stored relative to its folder, so a run
copied elsewhere works with every command from any working directory; records written
before (paths relative to the old working directory) still open."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

import greennlp
from greennlp.cli import app
from greennlp.record import ModelResult, RunRecord, StageResult

runner = CliRunner()


def test_paths_are_stored_relative_to_the_run_folder(tmp_path):
    root = tmp_path / "runs" / "20260101-000000-abcd"
    record = RunRecord(run_id=root.name, run_dir=str(root))
    record.add_model(ModelResult("m", "tfidf_logreg", checkpoint=str(root / "models/m/final")))
    record.add_stage(StageResult("data", artifacts={"splits": str(root / "data"),
                                                    "outside": "/elsewhere/file.csv"}))
    record.save()
    raw = json.loads(record.path.read_text())
    assert raw["models"][0]["checkpoint"] == "models/m/final"
    assert raw["stages"][0]["artifacts"] == {"splits": "data", "outside": "/elsewhere/file.csv"}
    moved = tmp_path / "disk2" / root.name
    shutil.copytree(root, moved)
    again = RunRecord.load(moved)
    assert again.model("m").checkpoint == str(moved / "models/m/final")
    assert again.stages[0].artifacts["splits"] == str(moved / "data")


def test_a_record_of_schema_4_opens_where_its_folder_is_now(tmp_path):
    """Schema 4 stored paths relative to the working directory of the run."""
    folder = tmp_path / "moved" / "20260101-000000-abcd"
    folder.mkdir(parents=True)
    old = RunRecord(run_id=folder.name, run_dir=f"runs/{folder.name}").to_dict()
    old.update(schema_version=4, models=[{
        "name": "m", "family": "tfidf_logreg",
        "checkpoint": f"../somewhere/runs/{folder.name}/models/m/final"}],
        search={"m": {"family": "m", "method": "random", "executor": "local", "space": {},
                      "max_epochs": 1, "rungs": [], "reduction_factor": 3, "selection": "dev",
                      "best_checkpoint": f"runs/{folder.name}/search/m/trial000/final"}})
    (folder / "record.json").write_text(json.dumps(old))
    record = RunRecord.load(folder)
    assert record.model("m").checkpoint == str(folder / "models/m/final")
    assert record.search["m"].best_checkpoint == str(folder / "search/m/trial000/final")


@pytest.mark.integration  # a whole run (shared), then every command on its moved copy
def test_a_moved_run_works_with_every_command_from_a_third_folder(tmp_path, finished_run,
                                                                  monkeypatch):
    runs, record = finished_run
    moved = tmp_path / "b" / "runs"
    shutil.copytree(record.run_dir, moved / record.run_id)  # without the registry
    work = tmp_path / "c"
    work.mkdir()
    monkeypatch.chdir(work)
    where = ["--output-dir", "../b/runs"]
    short = record.run_id[:15]  # a prefix, found without the registry
    for args in (["report", short], ["export", short, "--out", "exported"],
                 ["compare", f"{short}:transformer", f"{short}:transformer+onnx-int8"]):
        result = runner.invoke(app, [*args, *where])
        assert result.exit_code == 0, (args, result.output)
    assert (work / "exported" / "README.md").exists()
    texts = ["a witty lovely film", "dull boring messy plot"]
    model = greennlp.load_model(record.run_id, output_dir="../b/runs")
    original = greennlp.load_model(record.run_id, output_dir=str(runs))
    np.testing.assert_allclose(model.predict_proba(texts), original.predict_proba(texts))
    # an interrupted run resumes from its new place: its last stage runs again there
    path = moved / record.run_id / "record.json"
    raw = json.loads(path.read_text())
    raw.update(status="failed", stages=[s for s in raw["stages"] if s["name"] != "report"])
    path.write_text(json.dumps(raw))
    result = runner.invoke(app, ["run", "--resume", record.run_id, *where])
    assert result.exit_code == 0, result.output
    resumed = RunRecord.load(moved / record.run_id)
    assert resumed.status == "completed" and resumed.stage("report") is not None
    assert resumed.stage("train:transformer").started_at == \
        record.stage("train:transformer").started_at  # kept, not redone
