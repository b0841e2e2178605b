"""Search executors behind one small interface: local (default) and Ray Tune.

An executor takes the family's task, its trials and a scheduler, runs stretches of
trials until the scheduler has nothing left, and calls ``on_stretch`` after every
stretch so that the caller records and persists it at once (a killed search loses at
most the stretch that was running).
"""

from __future__ import annotations

from typing import Callable, Protocol

from greennlp.measure import Footprint
from greennlp.record import StageResult
from greennlp.search.asha import Scheduler, TrialState
from greennlp.search.trials import TrialTask, run_stretch

OnStretch = Callable[[TrialState, StageResult, dict, int], None]


class SearchExecutor(Protocol):
    """Runs the trials of one family's search."""

    def run(self, task: TrialTask, trials: list[TrialState], scheduler: Scheduler,
            on_stretch: OnStretch) -> None: ...


class LocalExecutor:
    """Runs stretches one after another in this process (the default)."""

    def __init__(self, footprint: Footprint | None = None) -> None:
        self.footprint = footprint

    def run(self, task: TrialTask, trials: list[TrialState], scheduler: Scheduler,
            on_stretch: OnStretch) -> None:
        by_id = {t.trial_id: t for t in trials}
        while (job := scheduler.next_job(trials)) is not None:
            trial_id, until_epoch = job
            part, info = run_stretch(task, by_id[trial_id], until_epoch, self.footprint)
            on_stretch(by_id[trial_id], part, info, until_epoch)
