import json

import pytest
import yaml

from greennlp import store, tasks
from greennlp.tasks import load_config
from greennlp.record import RunRecord
from tests.conftest import TINY_OVERRIDES


def _cfg(csv_path, tmp_path, *extra):
    return load_config(None, [f"data.source={csv_path}", "data.group_column=movie",
                              f"output_dir={tmp_path / 'runs'}", *TINY_OVERRIDES, *extra])


def test_full_run_on_a_small_file(csv_path, tmp_path):
    run = tasks.start(_cfg(csv_path, tmp_path), log=lambda m: None)
    record = tasks.execute(run)
    assert record.status == "completed"
    assert [s.name for s in record.stages] == ["data", "baselines", "audit", "train:tfidf_logreg",
                                               "evaluate:tfidf_logreg", "train:transformer",
                                               "evaluate:transformer", "analyze:tfidf_logreg",
                                               "analyze:transformer", "audit:clean_test",
                                               "compare", "report"]
    # test once per final model, plus the audits: baselines and one robustness pass per model
    assert record.test_evaluations == 2 + record.audit_test_evaluations
    assert record.audit_test_evaluations == 1 + 2
    for m in record.models:
        assert m.params_total > 0 and m.flops_per_example > 0
        assert m.dev["accuracy"]["low"] <= m.dev["accuracy"]["value"] <= m.dev["accuracy"]["high"]
        assert {"latency_ms_b1", "throughput_b32", "size_mb"} <= set(m.efficiency)
    for s in record.stages:
        assert s.duration_s > 0 and s.energy_kwh is not None and s.co2_kg is not None
        assert s.energy_method and s.cost_usd is not None
    folder = run.run_dir
    for name in ("report.html", "MODEL_CARD.md", "DATASHEET.md", "CHECKLIST.md", "record.json"):
        assert (folder / name).exists(), name
    saved = json.loads((folder / "record.json").read_text())
    assert saved["status"] == "completed" and saved["seeds"]["run"] == 0
    assert store.list_runs(tmp_path / "runs")[0]["status"] == "completed"


@pytest.mark.integration  # two whole runs (the unit lane: tests/test_run.py, LM resume)
def test_crash_is_recorded_and_resume_skips_finished_stages(csv_path, tmp_path, monkeypatch):
    import greennlp.tasks.classification_stages as eff  # where the stage calls it

    cfg = _cfg(csv_path, tmp_path)
    run = tasks.start(cfg, log=lambda m: None)
    real = eff.measure_speed
    calls = {"n": 0}

    def crash_second_time(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("power cut")
        return real(*args, **kwargs)

    monkeypatch.setattr(eff, "measure_speed", crash_second_time)
    with pytest.raises(RuntimeError):
        tasks.execute(run)
    failed = RunRecord.load(run.run_dir)
    assert failed.status == "failed" and "power cut" in failed.error
    assert failed.stage("train:transformer") and not failed.stage("evaluate:transformer")
    assert store.list_runs(cfg.output_dir)[0]["status"] == "failed"
    before = {s.name: s.started_at for s in failed.stages if s.status == "ok"}

    resumed = tasks.execute(tasks.resume(run.record.run_id, cfg.output_dir, log=lambda m: None))
    assert resumed.status == "completed"
    after = {s.name: s.started_at for s in resumed.stages}
    for name, started in before.items():
        assert after[name] == started, f"{name} was rerun"
    # test evaluated once per final model (and audit), even across resume
    assert resumed.test_evaluations == 2 + resumed.audit_test_evaluations == 2 + 3


@pytest.mark.integration  # a whole run for one note
def test_minilm_is_skipped_with_a_note_when_the_extra_is_missing(csv_path, tmp_path, monkeypatch):
    import greennlp.models.pretrained as pre

    monkeypatch.setattr(pre, "minilm_dir", lambda: None)
    cfg = _cfg(csv_path, tmp_path, "models=[tfidf_logreg,minilm]")
    record = tasks.execute(tasks.start(cfg, log=lambda m: None))
    assert [m.name for m in record.models] == ["tfidf_logreg"]
    assert any("minilm skipped" in n for n in record.notes)


def test_report_front_matter_and_self_contained_html(csv_path, tmp_path):
    run = tasks.start(_cfg(csv_path, tmp_path), log=lambda m: None)
    tasks.execute(run)
    card = (run.run_dir / "MODEL_CARD.md").read_text()
    header = yaml.safe_load(card.split("---")[1])
    # a file is not a Hub dataset: no dataset id, no model-index, no local path in the metadata
    assert "datasets" not in header and "model-index" not in header
    assert str(csv_path) not in card.split("---")[1] and header["license"] == "unknown"
    assert header["pipeline_tag"] == "text-classification"
    assert header["co2_eq_emissions"]["emissions"] > 0
    for section in ("## Model details", "## Intended use", "## Factors", "## Metrics",
                    "## Evaluation data", "## Training data", "## Quantitative analyses",
                    "## Ethical considerations", "## Caveats and recommendations"):
        assert section in card
    html = (run.run_dir / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 4
    assert 'src="http' not in html and "<link" not in html
    assert "estimate" in html
