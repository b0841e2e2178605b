"""The search stage of a run: for each configured family, sample trials, run them with the
chosen executor and scheduler, record every trial, and pick the best on dev.

The search state lives in ``record.search[family]`` (a
:class:`~greennlp.record.SearchState`) and is saved after every stretch of every trial:
a killed search resumes with the same trials (the points are stored), skips finished
ones and continues a paused one from its last epoch checkpoint. The spaces were checked
when the configuration was loaded (:func:`greennlp.search.space.validate`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from greennlp.config import section, to_dict
from greennlp.models import family as family_of
from greennlp.record import Savings, SearchState, TrialState
from greennlp.run import Run
from greennlp.search import space as spaces
from greennlp.search.asha import Asha, RunToEnd, best_trial, rung_epochs
from greennlp.search.executors import LocalExecutor
from greennlp.search.trials import SUMMED, TrialTask, add_stretch, stage_name, trial_config, \
    update_trial


def family_config(run: Run, family: str) -> Any:
    """The config section of model family ``family`` in this run."""
    return section(run.cfg, family_of(family).section)


def _points(method: str, fam, seed: int) -> list[dict[str, Any]]:
    if method == "grid":
        return spaces.grid(fam.space)
    rng = np.random.default_rng(seed)
    return [spaces.sample(fam.space, rng) for _ in range(fam.trials)]


def _new_state(run: Run, family: str, fam, max_epochs: int) -> SearchState:
    cfg = run.cfg.search
    points = _points(cfg.method, fam, run.cfg.seed)
    trials = [TrialState(trial_id=i, params=p, seed=int(p.get(spaces.SEED, run.cfg.seed)))
              for i, p in enumerate(points)]
    asha = cfg.method == "asha" and family_of(family).iterative
    method = "asha" if asha else ("grid" if cfg.method == "grid" else "random")
    return SearchState(
        family=family, method=method, executor=cfg.executor, space=to_dict(fam)["space"],
        max_epochs=max_epochs,
        rungs=rung_epochs(cfg.asha.min_epochs, cfg.asha.reduction_factor, max_epochs)
        if asha else [max_epochs], reduction_factor=cfg.asha.reduction_factor,
        selection=f"highest dev {run.record.selection_metric.replace('_', ' ')} among the "
                  f"trials that got the largest budget",
        trials=trials)


def _executor(run: Run, storage: Path):
    if run.cfg.search.executor == "ray":
        from greennlp.search.ray_executor import RayExecutor

        return RayExecutor(run.cfg.search.ray_address, run.cfg.search.ray_cpus_per_trial, storage)
    return LocalExecutor(run.footprint)


def _savings(run: Run, state: SearchState) -> Savings:
    """What running every stopped trial to the full budget would have cost more (estimate:
    each trial's own measured cost per epoch times the epochs it did not run)."""
    saved: dict[str, float | None] = dict.fromkeys(SUMMED, 0.0)
    stopped = 0
    for t in state.trials:
        stage = run.record.any_stage(stage_name(state.family, t.trial_id))
        missing = state.max_epochs - t.epochs_done
        if t.finished or missing <= 0 or stage is None or t.epochs_done == 0:
            continue
        stopped += 1
        for key in SUMMED:
            value = getattr(stage, key)
            saved[key] = None if value is None or saved[key] is None else \
                saved[key] + value / t.epochs_done * missing
    return Savings(trials_stopped_early=stopped, **saved,
                   method="estimate: each stopped trial's measured cost per epoch x epochs not run")


def search_family(run: Run, family: str, fam) -> SearchState:
    """Run (or resume) the search of one family; returns its state in the record."""
    base = family_config(run, family)
    max_epochs = fam.max_epochs or (base.train.epochs if hasattr(base, "train") else 1)
    state = run.record.search.get(family)
    if state is None:
        state = run.record.search[family] = _new_state(run, family, fam, max_epochs)
        run.persist()
    if state.completed:
        return state
    scheduler = (Asha(state.rungs, state.reduction_factor) if state.method == "asha"
                 else RunToEnd(state.max_epochs))
    folder = Path(run.run_dir) / "search" / family
    # absolute: Ray workers run in their own working directories
    task = TrialTask(family, base, run.splits, str(folder.resolve()), state.max_epochs,
                     run.cfg.measure)

    def on_stretch(trial: TrialState, part, info: dict, until_epoch: int) -> None:
        update_trial(trial, info, until_epoch)
        total = add_stretch(run.record.any_stage(part.name), part, trial)
        total.metrics["history"] = info.get("history") or []
        run.record.add_stage(total)
        run.persist()
        run.log(f"search {family} trial {trial.trial_id}: dev accuracy {trial.score:.3f} after "
                f"{trial.epochs_done} epoch(s) {trial.params}")

    _executor(run, folder).run(task, state.trials, scheduler, on_stretch)
    best = best_trial(state.trials)
    state.status, state.best_trial, state.best_params = "completed", best.trial_id, best.params
    state.best_score = best.score
    state.best_checkpoint = str(folder / f"trial{best.trial_id:03d}" / "final")
    state.early_stopping_saved = _savings(run, state)
    state.totals = {key: _sum(run, state, key) for key in SUMMED}
    run.persist()
    return state


def _sum(run: Run, state: SearchState, key: str) -> float | None:
    stages = [run.record.any_stage(stage_name(state.family, t.trial_id)) for t in state.trials]
    values = [getattr(s, key) for s in stages if s is not None]
    return None if any(v is None for v in values) else float(sum(values))


def stage_search(run: Run) -> None:
    """Search every configured family that this run trains (and that can run here)."""
    cfg = run.cfg.search
    if not cfg.enabled:
        return
    for family, fam in cfg.families.items():
        if family in run.cfg.models and family_of(family).available() is None:
            search_family(run, family, fam)


def final_config(run: Run, family: str) -> tuple[Any, int]:
    """The family config to train finally, and its seed: the best trial's when searched."""
    base = family_config(run, family)
    state = run.record.searched(family)
    if state is None:
        return base, run.cfg.seed
    task = TrialTask(family, base, None, "", state.max_epochs, run.cfg.measure)
    best = state.trials[state.best_trial]
    return trial_config(task, best), best.seed
