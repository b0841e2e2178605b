"""The Ray Tune executor: the same trials and stretches, spread over a Ray cluster.

Each Tune trial runs one of our trials (chosen by index, so local and Ray searches try
the same points) and reports once per rung; Ray's ASHAScheduler decides promotions
when ``method: asha``. Results come back to the driver through a Tune callback, which
records and persists every stretch as it arrives. Energy is measured inside the worker
(its own process) and travels with the result.

On a real cluster the run folder must be on storage that every node can reach: trials
write their checkpoints there.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from greennlp.errors import UserError
from greennlp.record import StageResult
from greennlp.search.asha import Asha, Scheduler, TrialState
from greennlp.search.executors import OnStretch
from greennlp.search.trials import TrialTask, run_stretch, update_trial


def _trainable(config: dict[str, Any], task: TrialTask | None = None,
               rungs: list[int] | None = None) -> None:
    from ray import tune

    trial = TrialState(**config["trial"])
    for until_epoch in rungs or [task.max_epochs]:
        if trial.finished or until_epoch <= trial.epochs_done:
            continue
        part, info = run_stretch(task, trial, until_epoch)
        update_trial(trial, info, until_epoch)
        tune.report({"dev_score": trial.score, "epoch": until_epoch,
                     "stretch": dataclasses.asdict(part), "info": info,
                     "greennlp_trial": trial.trial_id})
        if trial.finished:
            break


def _callback(on_stretch: OnStretch, trials: dict[int, TrialState]):
    from ray.tune import Callback

    class Record(Callback):
        """Runs on the driver: every reported stretch is recorded at once."""

        def __init__(self, on_stretch: OnStretch, trials: dict[int, TrialState]) -> None:
            self.on_stretch, self.trials = on_stretch, trials

        # Tune pickles its callbacks into the experiment state for its own restore, which
        # we do not use (resuming is ours): the driver-side references are left out.
        def __getstate__(self):
            return {}

        def on_trial_result(self, iteration, trials, trial, result, **info):
            state = self.trials[result["greennlp_trial"]]
            self.on_stretch(state, StageResult(**result["stretch"]), result["info"], result["epoch"])

        def on_trial_complete(self, iteration, trials, trial, **info):
            self.trials[trial.config["trial"]["trial_id"]].closed = True

    return Record(on_stretch, trials)


class RayExecutor:
    """Runs trials as Ray Tune trials (ASHA via Ray's own scheduler)."""

    def __init__(self, address: str | None, cpus_per_trial: float, storage: Path) -> None:
        self.address, self.cpus_per_trial, self.storage = address, cpus_per_trial, storage

    def _init(self) -> None:
        try:
            import ray
        except ImportError:
            raise UserError("search.executor=ray needs Ray; install it with "
                            "`pip install 'greennlp[ray]'`.") from None
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # local instances need no token
        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)

    def run(self, task: TrialTask, trials: list[TrialState], scheduler: Scheduler,
            on_stretch: OnStretch) -> None:
        from ray import tune
        from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

        pending = [t for t in trials if not t.finished and not getattr(t, "closed", False)]
        if not pending:
            return
        self._init()
        rungs = scheduler.rungs if isinstance(scheduler, Asha) else [task.max_epochs]
        ray_scheduler = (ASHAScheduler(time_attr="epoch", max_t=task.max_epochs,
                                       grace_period=rungs[0], reduction_factor=scheduler.eta)
                         if isinstance(scheduler, Asha) else FIFOScheduler())
        trainable = tune.with_resources(tune.with_parameters(_trainable, task=task, rungs=rungs),
                                        {"cpu": self.cpus_per_trial})
        tuner = tune.Tuner(
            trainable,
            param_space={"trial": tune.grid_search([dataclasses.asdict(t) for t in pending])},
            tune_config=tune.TuneConfig(metric="dev_score", mode="max", scheduler=ray_scheduler),
            run_config=tune.RunConfig(name=task.family, storage_path=str(self.storage.resolve()),
                                      verbose=0, callbacks=[_callback(on_stretch,
                                                                      {t.trial_id: t for t in trials})]))
        tuner.fit()
