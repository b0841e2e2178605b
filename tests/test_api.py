"""The Python API: run a config, load its model, measure a block."""

import time

import pytest

import greennlp
from greennlp import store
from greennlp.errors import UserError
from tests.conftest import TINY_OVERRIDES


def test_run_config_returns_the_record_and_load_model_reopens_the_selected_model(tmp_path, csv_path):
    overrides = {"models": "[tfidf_logreg]", "output_dir": str(tmp_path / "runs"),
                 "data.source": str(csv_path)}
    record = greennlp.run_config(None, [*TINY_OVERRIDES[1:], *(f"{k}={v}" for k, v in
                                                               overrides.items())],
                                 log=lambda line: None)
    assert record.status == "completed" and record.model("tfidf_logreg").test
    model = greennlp.load_model(record.run_id, output_dir=str(tmp_path / "runs"))
    proba = model.predict_proba(["good great superb", "bad dull awful"])
    assert proba.shape == (2, 2)
    assert greennlp.load_record(record.run_id[:15], str(tmp_path / "runs")).run_id == record.run_id
    with pytest.raises(UserError, match="has no model 'lstm'"):
        greennlp.load_model(record.run_id, "lstm", output_dir=str(tmp_path / "runs"))
    with pytest.raises(UserError, match="Unknown config key 'trainer'"):
        greennlp.run_config(None, dict(overrides, **{"trainer.epochs": 3}))
    assert store.list_runs(tmp_path / "runs")[0]["status"] == "failed"


def test_track_measures_a_block_with_the_method_of_each_number():
    with greennlp.track("work", region="FRA", price_per_hour_usd=1.0) as stage:
        start = time.process_time()  # work for 50 ms of CPU, however loaded the machine is
        while time.process_time() - start < 0.05:
            sum(i * i for i in range(10_000))
    assert stage.duration_s > 0 and stage.cpu_time_s > 0 and stage.energy_kwh > 0
    assert "cpu: " in stage.energy_method and "memory: " in stage.energy_method
    assert stage.cost_usd == pytest.approx(stage.duration_s / 3600)
    from greennlp.measure.tables import carbon_intensity

    assert stage.co2_kg == pytest.approx(stage.energy_kwh * carbon_intensity("FRA")[0] / 1000)
    with pytest.raises(UserError, match="measure.pue"):
        with greennlp.track("x", pue=0.5):
            pass
