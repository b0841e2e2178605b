"""A run in a real local MLflow store (SQLite), read back with MlflowClient: exported
afterwards, and logged as it runs; an unreachable store is one sentence and exit 2."""

import socket

import pytest
from typer.testing import CliRunner

from greennlp import store
from greennlp.cli import app
from greennlp.run import find_record
from tests.conftest import TINY_OVERRIDES

mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402

runner = CliRunner()


def _args(tmp_path, csv_path, *extra):
    return ["run", "models=[tfidf_logreg]", *TINY_OVERRIDES[1:], f"data.source={csv_path}",
            f"output_dir={tmp_path / 'runs'}", *extra]


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory):
    """One SQLite tracking store for the module (creating its tables takes ~9 s here)."""
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    for experiment in ("greennlp", "live"):  # artifacts in tmp, not in the working folder
        client.create_experiment(experiment, artifact_location=(folder / experiment).as_uri())
    return uri


def _only_run(uri, experiment="greennlp"):
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1
    return client, runs[0]


def _check_footprint(client, mlrun, record):
    data = mlrun.data
    assert data.params["data.source"] == record.config["data"]["source"]
    assert data.tags["greennlp.run_id"] == record.run_id
    for stage in record.stages:
        prefix = f"stage.{stage.name}"
        assert data.metrics[f"{prefix}.duration_s"] == pytest.approx(stage.duration_s)
        assert data.metrics[f"{prefix}.energy_kwh"] == pytest.approx(stage.energy_kwh)
        assert data.metrics[f"{prefix}.co2_kg"] == pytest.approx(stage.co2_kg)
        assert data.metrics[f"{prefix}.cost_usd"] == pytest.approx(stage.cost_usd)
        assert data.tags[f"{prefix}.energy_method"] == stage.energy_method
    acc = record.model("tfidf_logreg").test["accuracy"]
    assert data.metrics["tfidf_logreg.test.accuracy"] == pytest.approx(acc["value"])
    assert data.metrics["tfidf_logreg.test.accuracy.low"] == pytest.approx(acc["low"])
    assert data.metrics["tfidf_logreg.test.accuracy.high"] == pytest.approx(acc["high"])
    assert data.metrics["total.energy_kwh"] == pytest.approx(record.totals()["energy_kwh"])
    names = {a.path for a in client.list_artifacts(mlrun.info.run_id)}
    assert {"report.html", "MODEL_CARD.md", "DATASHEET.md", "CHECKLIST.md", "record.json"} <= names
    assert mlrun.info.status == "FINISHED"


def test_export_logs_a_run_with_its_footprint_and_reports(tmp_path, csv_path, sqlite_store):
    result = runner.invoke(app, _args(tmp_path, csv_path))
    assert result.exit_code == 0, result.output
    run_id = store.list_runs(tmp_path / "runs")[0]["run_id"]
    uri = sqlite_store
    result = runner.invoke(app, ["export", run_id, "--to", "mlflow", "--uri", uri,
                                 "--output-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    client, mlrun = _only_run(uri)
    _check_footprint(client, mlrun, find_record(run_id, str(tmp_path / "runs")))


def test_a_run_is_logged_as_it_runs(tmp_path, csv_path, sqlite_store):
    uri = sqlite_store
    result = runner.invoke(app, _args(tmp_path, csv_path, f"track.mlflow_uri={uri}",
                                      "track.mlflow_experiment=live"))
    assert result.exit_code == 0, result.output
    record = find_record(store.list_runs(tmp_path / "runs")[0]["run_id"], str(tmp_path / "runs"))
    client, mlrun = _only_run(uri, "live")
    _check_footprint(client, mlrun, record)
    # each stage was logged when it ended: its step is its position in the run
    history = client.get_metric_history(mlrun.info.run_id, "stage.data.duration_s")
    assert [m.step for m in history] == [0]
    assert any("Logged to MLflow" in n for n in record.notes)


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


def test_an_unreachable_store_is_one_sentence_exit_2_and_the_run_failed(tmp_path, csv_path):
    uri = f"http://127.0.0.1:{_dead_port()}"
    result = runner.invoke(app, _args(tmp_path, csv_path, f"track.mlflow_uri={uri}"))
    assert result.exit_code == 2, result.output
    assert "cannot be reached" in result.output and "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("error:")]) == 1
    failed = store.list_runs(tmp_path / "runs")[0]
    assert failed["status"] == "failed" and "cannot be reached" in failed["error"]
    # nothing lost: the same run completes without the tracker and exports later
    result = runner.invoke(app, _args(tmp_path, csv_path))
    run_id = store.list_runs(tmp_path / "runs")[0]["run_id"]
    result = runner.invoke(app, ["export", run_id, "--to", "mlflow", "--uri", uri,
                                 "--output-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2 and "cannot be reached" in result.output


def test_a_store_lost_during_a_run_stops_logging_not_the_run():
    from greennlp.integrations.mlflow import LiveLogger
    from greennlp.record import RunRecord

    class Gone:
        run_id = "r1"

        def log_new_stages(self, record):
            raise ConnectionError("Connection refused")

    record = RunRecord(run_id="20260101-000000-abcd", run_dir="unused")
    live = LiveLogger("http://127.0.0.1:1")
    live.target = Gone()
    listen = live._guard(live.target.log_new_stages, record)
    listen(record)  # does not raise
    listen(record)  # and stays quiet once stopped
    assert live.stopped and len(record.notes) == 1
    assert "greennlp export 20260101-000000-abcd --to mlflow" in record.notes[0]
