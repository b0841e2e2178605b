import numpy as np
import pytest

from greennlp import tasks
from greennlp.tasks import load_config
from greennlp.record import RunRecord
from greennlp.report import checklist
from tests.conftest import TINY_OVERRIDES

SEARCH = ["search.enabled=true", "search.families.tfidf_logreg.trials=3",
          "search.families.transformer.trials=3", "search.families.transformer.max_epochs=3",
          "search.families.transformer.space.hidden_size.values=[16,32]", "seeds.count=3"]


def _cfg(csv_path, tmp_path, *extra):
    return load_config(None, [f"data.source={csv_path}", "data.group_column=movie",
                              f"output_dir={tmp_path / 'runs'}", *TINY_OVERRIDES, *SEARCH, *extra])


def _quiet(cfg):
    return tasks.start(cfg, log=lambda m: None)


def test_random_search_records_every_trial_and_the_final_model_is_the_best(csv_path, tmp_path):
    record = tasks.execute(_quiet(_cfg(csv_path, tmp_path)))
    for family in ("tfidf_logreg", "transformer"):
        state = record.search[family]
        assert state.status == "completed" and state.method == "random"
        stages = [s for s in record.stages if s.name.startswith(f"search:{family}:")]
        assert len(stages) == 3
        for s in stages:
            assert s.metrics["params"] and s.metrics["dev_score"] is not None
            assert s.duration_s > 0 and s.energy_kwh > 0 and s.co2_kg > 0 and s.cost_usd > 0
        scores = [s.metrics["dev_score"] for s in stages]
        assert state.best_score == max(scores)
        model = record.model(family)
        assert model.training.selected_trial == state.best_trial
        assert model.dev["accuracy"]["value"] == pytest.approx(state.best_score)
    # seeds: the final config of both families, 3 seeds each, test evaluated once per model
    assert record.test_evaluations - record.audit_test_evaluations == 2 + 2 * 2
    seeds = record.seed_runs["transformer"]
    test_acc = [r.test_accuracy for r in seeds.per_seed]
    assert len(test_acc) == 3
    assert seeds.summary["test_accuracy"].mean == pytest.approx(np.mean(test_acc))
    assert seeds.summary["test_accuracy"].std == pytest.approx(np.std(test_acc, ddof=1))
    assert record.comparisons and record.comparisons[0].a == record.select().name
    for item in checklist.fill(record):
        assert item["status"] == "filled" and item["answer"].strip(" .-"), item["item"]
    html = (tmp_path / "runs" / record.run_id / "report.html").read_text()
    for section in ("Hyperparameter search", "Expected validation performance", "Seed variance",
                    "Paired comparisons on test"):
        assert section in html


def test_asha_stops_weak_trials_and_reports_the_saving(csv_path, tmp_path):
    cfg = _cfg(csv_path, tmp_path, "search.method=asha", "search.families.tfidf_logreg=null",
               "seeds.count=1")
    record = tasks.execute(_quiet(cfg))
    state = record.search["transformer"]
    assert state.method == "asha" and state.rungs == [1, 3]
    epochs = sorted(t.epochs_done for t in state.trials)
    assert epochs[0] == 1 and epochs[-1] == 3  # one promoted, the others stopped at rung 1
    saved = state.early_stopping_saved
    assert saved.trials_stopped_early == 2 and saved.energy_kwh > 0 and saved.duration_s > 0


@pytest.mark.integration  # a whole run killed and resumed (resume: tests/test_run.py)
def test_a_killed_search_resumes_without_rerunning_finished_trials(csv_path, tmp_path, monkeypatch):
    import greennlp.search.executors as executors

    cfg = _cfg(csv_path, tmp_path, "search.families.tfidf_logreg=null", "seeds.count=1")
    run = _quiet(cfg)
    real, calls = executors.run_stretch, []

    def crash_on_third(task, trial, until, footprint=None):
        calls.append(trial.trial_id)
        if len(calls) == 3:
            raise KeyboardInterrupt("killed")
        return real(task, trial, until, footprint)

    monkeypatch.setattr(executors, "run_stretch", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        tasks.execute(run)
    killed = RunRecord.load(run.run_dir)
    assert killed.status == "failed"
    done_before = {s.name: s.started_at for s in killed.stages if s.name.startswith("search:")}
    assert len(done_before) == 2
    calls.clear()
    record = tasks.execute(tasks.resume(run.record.run_id, cfg.output_dir, log=lambda m: None))
    assert calls == [2]  # only the trial that was killed runs again
    assert record.status == "completed"
    for name, started in done_before.items():
        assert record.any_stage(name).started_at == started
