import copy

from greennlp.search.asha import Asha, RunToEnd, TrialState, best_trial, rung_epochs


def _rising(trial_id, epochs):
    """A synthetic objective where each new trial is better than the ones before."""
    return 0.5 + 0.03 * trial_id + 0.01 * epochs


def _falling(trial_id, epochs):
    """The opposite: the first trials are the best."""
    return 0.9 - 0.03 * trial_id + 0.01 * epochs


def _drive(scheduler, trials, jobs_log, stop_after=None, score=_rising):
    by_id = {t.trial_id: t for t in trials}
    while (job := scheduler.next_job(trials)) is not None:
        if stop_after is not None and len(jobs_log) >= stop_after:
            return
        trial_id, until = job
        jobs_log.append(job)
        t = by_id[trial_id]
        t.epochs_done, t.score = until, score(trial_id, until)
        t.rung_scores[str(until)] = t.score
        t.finished = until >= 9


def test_asha_promotes_the_top_third_at_each_rung():
    trials = [TrialState(i, {}, 0) for i in range(9)]
    log = []
    _drive(Asha(rung_epochs(1, 3, 9), 3), trials, log, score=_falling)
    at = {r: sum(str(r) in t.rung_scores for t in trials) for r in (1, 3, 9)}
    assert at == {1: 9, 3: 3, 9: 1}
    assert best_trial(trials).trial_id == 0 and best_trial(trials).epochs_done == 9
    budget = sum(t.epochs_done for t in trials)
    assert budget == 9 * 1 + 2 * 3 + 6  # 21 epochs instead of 81 for full random search


def test_asynchronous_promotion_keeps_up_with_late_good_trials():
    """ASHA promotes as soon as a trial is in the current top 1/eta, so a late good trial
    is not starved; it costs more than synchronous halving but finds the best trial."""
    trials = [TrialState(i, {}, 0) for i in range(9)]
    log = []
    _drive(Asha([1, 3, 9], 3), trials, log, score=_rising)
    assert best_trial(trials).trial_id == 8 and trials[8].epochs_done == 9
    assert sum(t.epochs_done for t in trials) < 81


def test_a_killed_asha_search_resumes_with_the_same_decisions():
    full = []
    _drive(Asha([1, 3, 9], 3), [TrialState(i, {}, 0) for i in range(9)], full)
    trials = [TrialState(i, {}, 0) for i in range(9)]
    part = []
    _drive(Asha([1, 3, 9], 3), trials, part, stop_after=7)
    resumed_state = copy.deepcopy(trials)  # what the record holds after the kill
    rest = []
    _drive(Asha([1, 3, 9], 3), resumed_state, rest)
    assert part + rest == full


def test_run_to_end_trains_each_trial_fully():
    trials = [TrialState(i, {}, 0) for i in range(3)]
    log = []
    _drive(RunToEnd(9), trials, log)
    assert log == [(0, 9), (1, 9), (2, 9)]


def test_rungs():
    assert rung_epochs(1, 2, 8) == [1, 2, 4, 8]
    assert rung_epochs(2, 3, 4) == [2, 4]
