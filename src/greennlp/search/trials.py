"""Running one stretch of one trial, and the bookkeeping of what it cost.

A trial may run in several stretches (ASHA promotes it rung by rung); each stretch is
measured with ``track`` and added into the trial's single StageResult, so every trial is
one StageResult with its config, dev score, duration, energy, CO2e and cost.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greennlp.files import atomic_folder
from greennlp.measure import Footprint, track
from greennlp.record import StageResult, TrialState
from greennlp.search.space import apply

SUMMED = ("duration_s", "cpu_time_s", "energy_kwh", "co2_kg", "cost_usd")


@dataclass
class TrialTask:
    """Everything a worker needs to run a stretch of a trial (picklable for Ray)."""

    family: str
    family_cfg: Any
    splits: Any
    folder: str
    max_epochs: int
    measure_cfg: Any


def stage_name(family: str, trial_id: int) -> str:
    return f"search:{family}:trial{trial_id:03d}"


def trial_config(task: TrialTask, trial: TrialState):
    """The family config of a trial: the point applied, epochs set to the trial budget (which
    the floor of optimizer steps, ``min_steps``, does not stretch)."""
    cfg, _ = apply(task.family_cfg, trial.params)
    if hasattr(cfg, "train"):
        cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, epochs=task.max_epochs,
                                                                 min_steps=0))
    return cfg


def run_stretch(task: TrialTask, trial: TrialState, until_epoch: int,
                footprint: Footprint | None = None) -> tuple[StageResult, dict[str, Any]]:
    """Train ``trial`` up to ``until_epoch`` (resuming its checkpoint) and measure it.

    Returns
    -------
    (StageResult, dict)
        The measured stretch and the training facts (best dev accuracy so far, epochs
        run, finished).
    """
    from greennlp.train.classifiers import fit_family

    footprint = footprint or Footprint.from_config(task.measure_cfg)
    folder = Path(task.folder) / f"trial{trial.trial_id:03d}"
    with track(stage_name(task.family, trial.trial_id), None, footprint,
               progress_file=folder / "progress.json") as part:
        model, info = fit_family(task.family, trial_config(task, trial), task.splits, trial.seed,
                                 folder, until_epoch=until_epoch,
                                 desc=f"{task.family} trial {trial.trial_id}")
        with atomic_folder(folder / "final") as tmp:  # best weights so far: the search
            model.save(tmp)  # may stop here
    return part, {k: info.get(k) for k in ("best_dev_accuracy", "epochs_run", "finished", "history")}


def update_trial(trial: TrialState, info: dict[str, Any], until_epoch: int) -> None:
    """Fold a stretch's outcome into the trial's state."""
    trial.score = float(info["best_dev_accuracy"])
    trial.epochs_done = int(info["epochs_run"] or until_epoch)
    trial.finished = bool(info["finished"])
    trial.rung_scores[str(until_epoch)] = trial.score


def add_stretch(total: StageResult | None, part: StageResult, trial: TrialState) -> StageResult:
    """The trial's StageResult with one more measured stretch added in."""
    if total is None:
        total = StageResult(name=part.name, started_at=part.started_at, duration_s=0.0,
                            cpu_time_s=0.0, energy_kwh=0.0, co2_kg=0.0, cost_usd=0.0)
    for key in SUMMED:
        a, b = getattr(total, key), getattr(part, key)
        setattr(total, key, None if a is None or b is None else a + b)
    methods = [m for m in (total.energy_method.split("; ") + part.energy_method.split("; ")) if m]
    total.energy_method = "; ".join(dict.fromkeys(methods))
    total.energy_detail = part.energy_detail
    total.status, total.error = part.status, part.error
    total.metrics = {"trial": trial.trial_id, "params": trial.params, "seed": trial.seed,
                     "dev_score": trial.score, "epochs": trial.epochs_done,
                     "finished": trial.finished, "rung_scores": dict(trial.rung_scores),
                     "stretches": total.metrics.get("stretches", 0) + 1}
    return total
