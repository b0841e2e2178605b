import time

import pytest

from greennlp.config import MeasureConfig
from greennlp.measure import Footprint, track
from greennlp.measure import energy as energy_mod
from greennlp.measure.energy import Reading
from greennlp.record import RunRecord


class FixedBackend:
    """Reports a fixed energy: isolates the arithmetic from the machine."""

    def __init__(self, component, kwh):
        self.component, self.kwh = component, kwh

    def start(self):
        pass

    def stop(self):
        return Reading(self.component, self.kwh, "measured:fake", {"source": "test"})


class BrokenBackend:
    component = "gpu"

    def start(self):
        pass

    def stop(self):
        raise RuntimeError("driver went away")


def _fp(backends, intensity=400.0, pue=1.5, price=3.6):
    return Footprint(intensity_g_per_kwh=intensity, intensity_source="test", pue=pue,
                     price_per_hour_usd=price, price_source="test", backends=backends)


def test_track_prices_a_stage(tmp_path):
    rec = RunRecord(run_id="r", run_dir=str(tmp_path))
    fp = _fp([FixedBackend("cpu", 0.010), FixedBackend("memory", 0.002)])
    with track("work", rec, fp) as stage:
        time.sleep(0.05)
        stage.metrics["x"] = 1
    s = rec.stage("work")
    assert s.duration_s >= 0.05
    assert s.energy_kwh == pytest.approx(0.012 * 1.5)          # IT energy x PUE
    assert s.co2_kg == pytest.approx(0.018 * 400 / 1000)        # kWh x g/kWh
    assert s.cost_usd == pytest.approx(s.duration_s / 3600 * 3.6)
    assert s.energy_method == "cpu: measured:fake; memory: measured:fake"
    assert s.metrics == {"x": 1}


def test_failed_stage_is_recorded_and_reraised(tmp_path):
    rec = RunRecord(run_id="r", run_dir=str(tmp_path))
    saved = []
    with pytest.raises(ValueError):
        with track("boom", rec, _fp([FixedBackend("cpu", 0.001)]), on_finish=saved.append):
            raise ValueError("bad")
    assert rec.stages[0].status == "failed" and "bad" in rec.stages[0].error
    assert saved == [rec]


def test_a_broken_backend_is_missing_not_fatal():
    with track("x", None, _fp([FixedBackend("cpu", 0.001), BrokenBackend()])) as s:
        pass
    assert s.energy_kwh is None and s.co2_kg is None
    assert "gpu: missing" in s.energy_method
    assert "driver went away" in s.energy_detail["gpu"]["error"]


def test_tdp_estimate_is_cpu_seconds_times_watts():
    backend = energy_mod.TdpEstimateCpu(watts_per_thread=10.0)
    backend.start()
    t0 = time.process_time()
    while time.process_time() - t0 < 0.3:
        sum(range(1000))
    reading = backend.stop()
    cpu_s = reading.detail["cpu_s"]
    assert cpu_s >= 0.29
    assert reading.kwh == pytest.approx(10.0 * cpu_s / 3.6e6, rel=0.02)
    assert reading.method == "estimate:tdp"


def test_rapl_reads_counters_and_handles_wraparound(tmp_path, monkeypatch):
    dom = tmp_path / "intel-rapl:0"
    dom.mkdir()
    (dom / "name").write_text("package-0\n")
    (dom / "max_energy_range_uj").write_text("1000000\n")
    (dom / "energy_uj").write_text("900000\n")
    monkeypatch.setattr(energy_mod, "RAPL_ROOT", tmp_path)
    backend = energy_mod.RaplEnergy("cpu")
    assert backend.available
    backend.start()
    (dom / "energy_uj").write_text("100000\n")  # wrapped: 100,000 + 100,000 uJ used
    reading = backend.stop()
    assert reading.kwh == pytest.approx(0.2 / 3.6e6)
    assert reading.method == "measured:rapl"


def test_default_backends_on_a_machine_without_counters(monkeypatch, tmp_path):
    monkeypatch.setattr(energy_mod, "RAPL_ROOT", tmp_path)
    kinds = {type(b).__name__ for b in energy_mod.default_backends()}
    assert {"TdpEstimateCpu", "MemoryEstimate"} <= kinds


def test_configured_watts_override_the_table():
    watts, detail = energy_mod.cpu_watts_per_thread(7.5)
    assert watts == 7.5 and "configured" in detail["source"]


def test_footprint_from_config_uses_the_region():
    fp = Footprint.from_config(MeasureConfig(region="FRA", pue=1.2, price_per_hour_usd=1.0))
    assert fp.intensity_g_per_kwh == pytest.approx(56.039)
    assert fp.describe()["pue"] == 1.2


def test_patterson_2021_gpt3_carbon_arithmetic():
    """Patterson et al. 2021, Table 4: GPT-3 used 1,287 MWh at 0.429 kgCO2e/kWh -> 552 tCO2e."""
    fp = _fp([], intensity=429.0, pue=1.0)
    assert fp.co2_kg(1_287_000) / 1000 == pytest.approx(552, rel=0.001)


def test_strubell_2019_style_energy_with_pue():
    """Strubell et al. 2019 use p_t = 1.58 x t x (p_c + p_r + g p_g) / 1000 (kWh)."""
    readings = [Reading("cpu", 0.100, "x"), Reading("memory", 0.020, "x"), Reading("gpu", 0.880, "x")]
    from greennlp.measure.tracker import fill_footprint
    from greennlp.record import StageResult

    s = StageResult("x", duration_s=3600)
    fill_footprint(s, readings, _fp([], intensity=433.0, pue=1.58, price=0))
    assert s.energy_kwh == pytest.approx(1.58)
    assert s.co2_kg == pytest.approx(1.58 * 0.433)
