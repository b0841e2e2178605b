"""The search stage of a run: for each configured family, sample trials, run them with the
chosen executor and scheduler, record every trial, and pick the best on dev.

The search state lives in ``record.search[family]`` and is saved after every stretch of
every trial: a killed search resumes with the same trials (the points are stored), skips
finished ones and continues a paused one from its last epoch checkpoint.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from greennlp.config_parse import to_dict
from greennlp.search import space as spaces
from greennlp.search.asha import Asha, RunToEnd, TrialState, best_trial, rung_epochs
from greennlp.search.executors import LocalExecutor
from greennlp.search.trials import SUMMED, TrialTask, add_stretch, stage_name, update_trial

ITERATIVE = ("transformer", "minilm")


def _points(method: str, fam, seed: int) -> list[dict[str, Any]]:
    if method == "grid":
        return spaces.grid(fam.space)
    rng = np.random.default_rng(seed)
    return [spaces.sample(fam.space, rng) for _ in range(fam.trials)]


def _new_state(run, family: str, fam, max_epochs: int) -> dict[str, Any]:
    cfg = run.cfg.search
    points = _points(cfg.method, fam, run.cfg.seed)
    trials = [TrialState(trial_id=i, params=p, seed=int(p.get(spaces.SEED, run.cfg.seed)))
              for i, p in enumerate(points)]
    asha = cfg.method == "asha" and family in ITERATIVE
    method = "asha" if asha else ("grid" if cfg.method == "grid" else "random")
    return {"family": family, "method": method,
            "executor": cfg.executor, "space": to_dict(fam)["space"], "max_epochs": max_epochs,
            "rungs": rung_epochs(cfg.asha.min_epochs, cfg.asha.reduction_factor, max_epochs)
            if asha else [max_epochs], "reduction_factor": cfg.asha.reduction_factor,
            "selection": "highest dev accuracy among the trials that got the largest budget",
            "status": "running", "trials": [dataclasses.asdict(t) for t in trials]}


def _executor(run, storage: Path):
    if run.cfg.search.executor == "ray":
        from greennlp.search.ray_executor import RayExecutor

        return RayExecutor(run.cfg.search.ray_address, run.cfg.search.ray_cpus_per_trial, storage)
    return LocalExecutor(run.footprint)


def _savings(run, state: dict[str, Any], trials: list[TrialState]) -> dict[str, Any]:
    """What running every stopped trial to the full budget would have cost more (estimate:
    each trial's own measured cost per epoch times the epochs it did not run)."""
    saved = dict.fromkeys(SUMMED, 0.0)
    stopped = 0
    for t in trials:
        stage = run.record.any_stage(stage_name(state["family"], t.trial_id))
        missing = state["max_epochs"] - t.epochs_done
        if t.finished or missing <= 0 or stage is None or t.epochs_done == 0:
            continue
        stopped += 1
        for key in SUMMED:
            value = getattr(stage, key)
            saved[key] = None if value is None or saved[key] is None else \
                saved[key] + value / t.epochs_done * missing
    return {"trials_stopped_early": stopped, **saved,
            "method": "estimate: each stopped trial's measured cost per epoch x epochs not run"}


def search_family(run, family: str, fam) -> dict[str, Any]:
    """Run (or resume) the search of one family; returns its state in the record."""
    from greennlp.pipeline import family_config

    base = family_config(run.cfg, family)
    spaces.validate(family, fam.space, base)
    max_epochs = fam.max_epochs or (base.train.epochs if hasattr(base, "train") else 1)
    state = run.record.search.get(family)
    if state is None:
        state = run.record.search[family] = _new_state(run, family, fam, max_epochs)
        run.persist()
    if state["status"] == "completed":
        return state
    trials = [TrialState(**t) for t in state["trials"]]
    scheduler = (Asha(state["rungs"], state["reduction_factor"]) if state["method"] == "asha"
                 else RunToEnd(state["max_epochs"]))
    folder = Path(run.run_dir) / "search" / family
    # absolute: Ray workers run in their own working directories
    task = TrialTask(family, base, run.splits, str(folder.resolve()), state["max_epochs"],
                     run.cfg.measure)

    def on_stretch(trial: TrialState, part, info: dict, until_epoch: int) -> None:
        update_trial(trial, info, until_epoch)
        total = add_stretch(run.record.any_stage(part.name), part, trial)
        total.metrics["history"] = info.get("history") or []
        run.record.add_stage(total)
        state["trials"] = [dataclasses.asdict(t) for t in trials]
        run.persist()
        run.log(f"search {family} trial {trial.trial_id}: dev accuracy {trial.score:.3f} after "
                f"{trial.epochs_done} epoch(s) {trial.params}")

    _executor(run, folder).run(task, trials, scheduler, on_stretch)
    best = best_trial(trials)
    state.update(trials=[dataclasses.asdict(t) for t in trials], status="completed",
                 best_trial=best.trial_id, best_params=best.params, best_score=best.score,
                 best_checkpoint=str(folder / f"trial{best.trial_id:03d}" / "final"),
                 early_stopping_saved=_savings(run, state, trials))
    state["totals"] = {key: _sum(run, family, trials, key) for key in SUMMED}
    run.persist()
    return state


def _sum(run, family: str, trials: list[TrialState], key: str) -> float | None:
    values = [getattr(run.record.any_stage(stage_name(family, t.trial_id)), key, None)
              for t in trials if run.record.any_stage(stage_name(family, t.trial_id))]
    return None if any(v is None for v in values) else float(sum(values))


def stage_search(run) -> None:
    """Search every configured family that this run trains."""
    cfg = run.cfg.search
    if not cfg.enabled:
        return
    for family, fam in cfg.families.items():
        if family not in run.cfg.models:
            continue
        if family == "minilm":
            from greennlp.models.pretrained import minilm_dir

            if minilm_dir() is None:
                continue
        search_family(run, family, fam)


def final_config(run, family: str):
    """The family config to train finally: the best trial's point when searched."""
    from greennlp.pipeline import family_config

    base = family_config(run.cfg, family)
    state = run.record.search.get(family)
    if not state or state.get("status") != "completed":
        return base, run.cfg.seed
    task = TrialTask(family, base, None, "", state["max_epochs"], run.cfg.measure)
    best = TrialState(**state["trials"][state["best_trial"]])
    from greennlp.search.trials import trial_config

    return trial_config(task, best), best.seed
