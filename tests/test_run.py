"""The run's spine: measured stages that skip and reload when finished, and the test gate."""

from __future__ import annotations

import pytest

from greennlp import tasks
from greennlp.record import RunRecord
from greennlp.run import RepeatedTestEvaluation
from tests.conftest import TINY_OVERRIDES


@pytest.fixture
def finished(csv_path, tmp_path):
    cfg = tasks.load_config(None, [f"data.source={csv_path}", "data.group_column=movie",
                                   f"output_dir={tmp_path / 'runs'}", *TINY_OVERRIDES,
                                   "models=[tfidf_logreg]"])
    run = tasks.start(cfg, log=lambda m: None)
    tasks.execute(run)
    return run


def test_a_second_test_evaluation_of_a_model_is_refused(finished):
    run = finished
    audits = ["audit:baselines", "audit:robustness:tfidf_logreg"]
    assert run.record.tested == ["audit:baselines", "tfidf_logreg", audits[1]]
    assert run.record.test_evaluations == 3
    model = run.models["tfidf_logreg"]
    with pytest.raises(RepeatedTestEvaluation, match="tfidf_logreg was already evaluated on test"):
        run.task.evaluate(run, run.record.model("tfidf_logreg"), model, full=False)
    assert run.record.test_evaluations == 3  # refused before the test data was touched
    # the ledger survives a reload: a resumed or reopened run refuses too
    reloaded = RunRecord.load(run.run_dir)
    assert reloaded.tested == ["audit:baselines", "tfidf_logreg", audits[1]]


def test_test_passes_of_a_failed_stage_are_counted_but_not_committed(finished):
    run = finished

    def crash_after_test(st):
        run.test_pass("audit:probe", lambda test: len(test))
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        run.stage("audit:probe", crash_after_test)
    assert run.record.test_evaluations == 4  # the pass happened and is counted
    assert "audit:probe" not in run.record.tested  # the stage that made it did not finish
    assert run.record.any_stage("audit:probe").status == "failed"
    assert run.stage("audit:probe", lambda st: run.test_pass("audit:probe", len)) > 0
    assert run.record.tested[-1] == "audit:probe" and run.record.audit_test_evaluations == 3


def test_a_finished_stage_is_skipped_and_its_outputs_reloaded(finished):
    run = finished
    calls = []
    assert run.stage("data", lambda st: calls.append("ran"), reload=lambda st: st.name) == "data"
    assert calls == []  # the work did not run again
    started = run.record.stage("data").started_at
    assert run.record.stage("data").started_at == started
