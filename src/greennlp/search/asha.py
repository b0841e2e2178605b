"""Scheduling trials: run-to-completion (random / grid) and ASHA.

ASHA (Li et al. 2020, "A System for Massively Parallel Hyperparameter Tuning") grows
trial budgets rung by rung: a trial that finished rung k is promoted to rung k+1 once it
is in the top 1/eta of the trials that finished rung k; otherwise a new trial starts at
rung 0. With one worker it runs the same decisions in sequence. The scheduler is a pure
function of the trials' state, so a killed search resumes exactly where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from greennlp.record import TrialState


class Scheduler(Protocol):
    """Decides which trial to run next and up to which epoch."""

    def next_job(self, trials: list[TrialState]) -> tuple[int, int] | None: ...


def rung_epochs(min_epochs: int, eta: int, max_epochs: int) -> list[int]:
    """Budgets of the rungs: min, min x eta, ..., capped by (and ending at) max.

    >>> rung_epochs(1, 3, 9), rung_epochs(1, 3, 6), rung_epochs(2, 2, 2)
    ([1, 3, 9], [1, 3, 6], [2])
    """
    rungs, r = [], min_epochs
    while r < max_epochs:
        rungs.append(r)
        r *= eta
    return rungs + [max_epochs]


@dataclass
class RunToEnd:
    """Random and grid search: each trial, in order, trained to the full budget."""

    max_epochs: int

    def next_job(self, trials: list[TrialState]) -> tuple[int, int] | None:
        for t in trials:
            if not t.finished and t.epochs_done < self.max_epochs:
                return t.trial_id, self.max_epochs
        return None


@dataclass
class Asha:
    """Asynchronous successive halving over a fixed list of trials."""

    rungs: list[int]
    eta: int

    def next_job(self, trials: list[TrialState]) -> tuple[int, int] | None:
        for k in reversed(range(len(self.rungs) - 1)):
            rung, above = str(self.rungs[k]), self.rungs[k + 1]
            reached = [t for t in trials if rung in t.rung_scores]
            ranked = sorted(reached, key=lambda t: (-t.rung_scores[rung], t.trial_id))
            for t in ranked[:len(reached) // self.eta]:
                if not t.finished and t.epochs_done < above:
                    return t.trial_id, above
        for t in trials:
            if not t.started:
                return t.trial_id, self.rungs[0]
        return None


def best_trial(trials: list[TrialState]) -> TrialState | None:
    """The trial with the largest budget reached, then the highest dev score."""
    scored = [t for t in trials if t.score is not None]
    return max(scored, key=lambda t: (t.epochs_done if not t.finished else 10**9, t.score, -t.trial_id),
               default=None)
