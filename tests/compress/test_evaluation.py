import time

import numpy as np
import pytest

from greennlp.compress.evaluation import fidelity, inference_cost
from greennlp.evaluate.variants import root_of, summarize
from greennlp.config import MeasureConfig
from greennlp.measure import Footprint
from greennlp.record import ModelResult, RunRecord, VariantInfo, build


def test_inference_cost_is_per_million_examples():
    calls = []

    def predict(texts, batch_size):
        calls.append(len(texts))
        sum(i * i for i in range(20000))  # some CPU work
        return None

    out = inference_cost(predict, ["a", "b", "c"], MeasureConfig(price_per_hour_usd=3.6),
                         min_seconds=0.05)
    n = out["energy_examples"]
    assert n == sum(calls[1:]) and n % 256 == 0
    assert out["energy_kwh_per_1m"] > 0 and out["co2_kg_per_1m"] > 0
    # cost = wall hours per 1M examples x $3.6/h
    assert out["cost_usd_per_1m"] == pytest.approx(out["hours_per_1m"] * 3.6)
    assert "cpu" in out["energy_method"]


def test_inference_cost_never_raises():
    def broken(texts, batch_size):
        raise RuntimeError("no")

    out = inference_cost(broken, ["a"], None)
    assert out["energy_kwh_per_1m"] is None and "no" in out["energy_error"]


def test_fidelity_of_identical_outputs():
    p = np.array([[0.2, 0.8], [0.7, 0.3]])
    assert fidelity(p, p) == {"agreement": 1.0, "max_abs_diff": 0.0, "mean_abs_diff": 0.0}


def _model(name, acc_dev, acc_test, tput, lat, parent=None, **extra):
    m = ModelResult(name=name, family="x", dev={"accuracy": {"value": acc_dev}},
                    test={"accuracy": {"value": acc_test, "low": acc_test, "high": acc_test}},
                    efficiency={"throughput_b32": tput, "latency_ms_b1": lat, "size_mb": 10.0,
                                "energy_kwh_per_1m": 1.0 / tput})
    m.variant_of = parent
    m.compression = build(VariantInfo, extra) if extra else None
    return m


def test_best_variant_is_chosen_on_dev_and_speedups_are_against_the_dense_root():
    r = RunRecord(run_id="x", run_dir="x")
    r.models = [_model("ref", 0.80, 0.80, 100, 10.0),
                _model("ref+a", 0.795, 0.78, 300, 5.0, "ref", method="quantization"),
                _model("ref+b", 0.70, 0.81, 900, 1.0, "ref", method="distillation"),
                _model("ref+a+c", 0.792, 0.79, 600, 2.0, "ref+a", method="quantization")]
    assert root_of(r, r.models[3]).name == "ref"
    s = summarize(r, max_drop_points=1.0)
    best = s["best"]
    assert best["name"] == "ref+a+c"  # ref+b is faster and better on test, but not on dev
    assert best["throughput_speedup"] == pytest.approx(6.0)
    assert best["latency_speedup"] == pytest.approx(5.0)
    assert best["drop_points"] == pytest.approx(1.0)
    assert "ref+b" in s["pareto"]["latency_ms_b1"] and "ref+a" not in s["pareto"]["latency_ms_b1"]
    assert summarize(r, 0.1)["best"] is None


def test_inference_cost_inside_a_stage_leaves_the_stage_measurement_whole():
    from greennlp.measure import track

    def busy(seconds):
        end = time.process_time() + seconds
        while time.process_time() < end:
            pass

    fp = Footprint.from_config(MeasureConfig())
    with track("outer", footprint=fp) as outer:
        busy(0.3)
        inference_cost(lambda texts, bs: busy(0.01), ["a"], MeasureConfig(), min_seconds=0.05)
    assert outer.energy_detail["cpu"]["cpu_s"] >= 0.3
