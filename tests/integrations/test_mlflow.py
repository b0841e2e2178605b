"""A run in a real local MLflow store (SQLite), read back with MlflowClient: exported
afterwards, and logged as it runs; an unreachable store is one sentence and exit 2."""

import json
import socket
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import greennlp
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
    run_id = mlrun.info.run_id
    for step, stage in enumerate(record.stages):  # one series per stage family, step = stage
        family = stage.name.split(":")[0]
        for cost in ("duration_s", "energy_kwh", "co2_kg", "cost_usd"):
            history = {m.step: m.value for m in client.get_metric_history(
                run_id, f"stage.{family}.{cost}")}
            assert history[step] == pytest.approx(getattr(stage, cost))
        assert stage.energy_method in data.tags[f"stage.{family}.energy_method"]
        assert f"{step}={stage.name}" in data.tags[f"greennlp.stages.{family}"]
    assert len([k for k in data.metrics if k.startswith("stage.")]) < 12 * 8  # not per stage
    acc = record.model("tfidf_logreg").test["accuracy"]
    assert data.metrics["tfidf_logreg.test.accuracy"] == pytest.approx(acc["value"])
    assert data.metrics["tfidf_logreg.test.accuracy.low"] == pytest.approx(acc["low"])
    assert data.metrics["tfidf_logreg.test.accuracy.high"] == pytest.approx(acc["high"])
    assert data.metrics["total.energy_kwh"] == pytest.approx(record.totals()["energy_kwh"])
    names = {a.path for a in client.list_artifacts(mlrun.info.run_id)}
    assert {"report.html", "MODEL_CARD.md", "DATASHEET.md", "CHECKLIST.md", "record.json",
            "stages.json"} <= names
    assert mlrun.info.status == "FINISHED"
    # the run's own times, its source, and its data as inputs with their sizes
    assert mlrun.info.start_time == _millis(record.created_at)
    assert mlrun.info.end_time == _millis(record.finished_at)
    assert data.tags["mlflow.source.name"] == record.command
    inputs = {i.tags[0].value: i.dataset for i in mlrun.inputs.dataset_inputs}
    sizes = record.data["split"]["sizes"]
    for split in ("train", "dev", "test"):
        assert json.loads(inputs[split].profile)["num_rows"] == sizes[split]
        assert inputs[split].digest


def _millis(when: str) -> int:
    return int(datetime.fromisoformat(when).timestamp() * 1000)


def test_export_logs_a_run_with_its_footprint_model_and_reports(tmp_path, csv_path,
                                                               sqlite_store):
    result = runner.invoke(app, _args(tmp_path, csv_path))
    assert result.exit_code == 0, result.output
    run_id = store.list_runs(tmp_path / "runs")[0]["run_id"]
    uri = sqlite_store
    result = runner.invoke(app, ["export", run_id, "--to", "mlflow", "--uri", uri,
                                 "--output-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    client, mlrun = _only_run(uri)
    record = find_record(run_id, str(tmp_path / "runs"))
    _check_footprint(client, mlrun, record)
    # the selected TF-IDF model, as a pyfunc model that predicts like greennlp
    with _tracking(uri):
        (logged,) = mlflow.search_logged_models(experiment_ids=[mlrun.info.experiment_id],
                                                output_format="list")
        served = mlflow.pyfunc.load_model(logged.model_uri)
    assert logged.source_run_id == mlrun.info.run_id
    texts = ["a lovely witty film", "dull boring plot"]
    model = greennlp.load_model(run_id, output_dir=str(tmp_path / "runs"))
    got = served.predict(texts)
    assert got["label"].tolist() == model.predict(texts)
    np.testing.assert_allclose(got[[f"p_{k}" for k in model.labels]].to_numpy(),
                               model.predict_proba(texts), atol=1e-6)


def _tracking(uri):
    from greennlp.integrations.mlflow_models import tracking

    return tracking(uri)


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
    assert history[0].timestamp == _millis(record.stage("data").started_at)
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


@pytest.mark.integration  # a whole run (shared): its encoder and ONNX variant in MLflow
def test_the_selected_encoder_is_logged_with_the_transformers_and_onnx_flavours_and_registered(
        finished_run, sqlite_store, tmp_path):
    runs, record = finished_run
    uri = sqlite_store
    MlflowClient(tracking_uri=uri).create_experiment(
        "models", artifact_location=(tmp_path / "models").as_uri())
    result = runner.invoke(app, ["export", record.run_id, "--to", "mlflow", "--uri", uri,
                                 "--experiment", "models", "--register", "tiny-reviews",
                                 "--output-dir", str(runs)])
    assert result.exit_code == 0, result.output
    client, mlrun = _only_run(uri, "models")
    history = client.get_metric_history(mlrun.info.run_id, "transformer.train_loss")
    assert [m.step for m in history] == [e.epoch for e in record.model("transformer").training.history]
    test = pd.read_parquet(f"{record.run_dir}/data/test.parquet")["text"].tolist()
    ours = greennlp.load_model(record.run_id, output_dir=str(runs))
    expected = ours.predict_proba(test)
    with _tracking(uri):
        logged = {m.name: m for m in mlflow.search_logged_models(
            experiment_ids=[mlrun.info.experiment_id], output_format="list")}
        pipe = mlflow.transformers.load_model(logged["model"].model_uri)
        onnx_model = mlflow.pyfunc.load_model(logged["onnx_model"].model_uri)
        served = mlflow.pyfunc.load_model(logged["model"].model_uri)
        (version,) = client.search_model_versions("name='tiny-reviews'")
    # pyfunc cuts texts where greennlp does: a text far past the model's length
    long = [" ".join(test[:20]), test[0]]
    top = served.predict(long)
    np.testing.assert_allclose(top["score"].to_numpy(), ours.predict_proba(long).max(1),
                               atol=1e-5)
    assert top["label"].tolist() == ours.predict(long)
    rows = pipe(test, truncation=True, top_k=None)
    got = np.array([[next(d["score"] for d in r if d["label"] == k) for k in ours.labels]
                    for r in rows])
    agreement = float(np.mean(got.argmax(1) == expected.argmax(1)))
    print(f"\nMLflow transformers flavour against greennlp: label agreement {agreement:.4f} on "
          f"{len(test)} test texts, max |p diff| {np.abs(got - expected).max():.2e}")
    assert agreement == 1.0 and np.abs(got - expected).max() < 1e-5
    # the ONNX variant, run by MLflow's onnx flavour on the tokenizer's inputs
    variant = greennlp.load_model(record.run_id, "transformer+onnx-int8", str(runs))
    batch = ours.hf_tokenizer(test[:8], padding=True, return_tensors="np")
    logits = onnx_model.predict({"input_ids": batch["input_ids"],
                                 "attention_mask": batch["attention_mask"]})["logits"]
    np.testing.assert_array_equal(logits.argmax(1),
                                  variant.predict_proba(test[:8], batch_size=8).argmax(1))
    assert version.run_id == mlrun.info.run_id and str(version.version) == "1"


def test_the_trainer_callback_logs_into_the_trainers_mlflow_run(tmp_path, sqlite_store,
                                                               monkeypatch):
    import torch
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

    from greennlp.integrations.hf import GreenNLPCallback

    uri = sqlite_store
    MlflowClient(tracking_uri=uri).create_experiment(
        "trainer", artifact_location=(tmp_path / "trainer").as_uri())
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "trainer")
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, num_labels=2))
    rows = [{"input_ids": torch.randint(0, 50, (8,)), "labels": i % 2} for i in range(32)]
    args = TrainingArguments(str(tmp_path / "out"), num_train_epochs=2, per_device_train_batch_size=8,
                             eval_strategy="epoch", save_strategy="no", report_to=["mlflow"],
                             use_cpu=True, disable_tqdm=True, logging_steps=1)
    callback = GreenNLPCallback(output_dir=str(tmp_path / "runs"))
    Trainer(model=model, args=args, train_dataset=rows[:24], eval_dataset=rows[24:],
            callbacks=[callback]).train()
    client, mlrun = _only_run(uri, "trainer")
    assert mlrun.data.tags["greennlp.run_id"] == callback.record.run_id
    assert "loss" in mlrun.data.metrics  # the Trainer's own logging, same run
    energy = client.get_metric_history(mlrun.info.run_id, "greennlp.train.energy_kwh")
    assert [m.step for m in energy] == [3, 6]  # one per epoch, at the global step
    assert [m.value for m in energy] == pytest.approx(
        [s.energy_kwh for s in callback.record.stages if s.name.startswith("train:")])
    assert len(client.get_metric_history(mlrun.info.run_id, "greennlp.evaluate.co2_kg")) == 2


def test_only_the_main_process_records(tmp_path):
    from types import SimpleNamespace

    from greennlp.integrations.hf import GreenNLPCallback

    callback = GreenNLPCallback(output_dir=str(tmp_path / "runs"))
    state = SimpleNamespace(is_world_process_zero=False, global_step=0)
    args = SimpleNamespace(seed=0)
    callback.on_train_begin(args, state, None)
    callback.on_epoch_begin(args, state, None)
    callback.on_epoch_end(args, state, SimpleNamespace(should_evaluate=False))
    callback.on_train_end(args, state, None)
    assert callback.record is None and not (tmp_path / "runs").exists()
