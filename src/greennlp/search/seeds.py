"""Seed variance: the final configuration of each family retrained with several seeds.

Seed 0 of the table is the family's final model; the others are ``seed:<family>:s<k>``
stages, each trained, scored on dev and evaluated once on test (through the run's test
gate). The report gives mean, standard deviation, min and max on dev and test.

With ``seeds.strategy=early_stopped`` (Dodge et al. 2020, "Fine-Tuning Pretrained Language
Models: Weight Initializations, Data Orders, and Early Stopping"), every seed first runs
``seeds.score_after`` of its training (a ``seed:<family>:s<k>:early`` stage; a share of its
optimizer steps, so it may pause inside an epoch) and is scored on dev; only the best
``seeds.keep`` continue from their checkpoint to the end. The stopped
seeds' stages, and so their cost, stay in the record; the statistics are over the seeds
trained to the end, the stopped ones are listed apart.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from greennlp.files import atomic_folder
from greennlp.models import family as family_of
from greennlp.record import ModelResult, SeedRow, SeedRuns, SeedStats, StoppedSeed, build
from greennlp.run import Run
from greennlp.search.stages import final_config
from greennlp.search.trials import SUMMED
from greennlp.train.classifiers import fit_family

COLUMNS = ("dev_accuracy", "test_accuracy", "dev_macro_f1", "test_macro_f1")


def summarize(rows: list[dict[str, Any]]) -> dict[str, SeedStats]:
    """Mean, sample standard deviation, min and max of each score over seeds.

    >>> summarize([{"dev_accuracy": 0.7}, {"dev_accuracy": 0.8}])["dev_accuracy"].mean
    0.75
    """
    out = {}
    for col in COLUMNS:
        values = np.array([r[col] for r in rows if r.get(col) is not None], dtype=float)
        if len(values):
            out[col] = SeedStats(mean=round(float(values.mean()), 12),
                                 std=float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                                 min=float(values.min()), max=float(values.max()), n=len(values))
    return out


def _row(seed: int, dev: dict, test: dict, **extra: Any) -> dict[str, Any]:
    return {"seed": seed, "dev_accuracy": dev["accuracy"]["value"],
            "test_accuracy": test["accuracy"]["value"], "dev_macro_f1": dev["macro_f1"]["value"],
            "test_macro_f1": test["macro_f1"]["value"], **extra}


def _seed_name(family: str, seed: int) -> str:
    return f"seed:{family}:s{seed}"


def _train_and_score(run: Run, family: str, cfg, seed: int, until_epoch: float | None = None
                     ) -> dict[str, Any]:
    """Train seed ``seed`` (resuming its checkpoint) to ``until_epoch`` or the end, as one
    measured stage; to the end, it is saved and scored on dev and once on test."""
    folder = Path(run.run_dir) / "models" / family / "seeds" / f"s{seed}"
    name = _seed_name(family, seed) + (":early" if until_epoch else "")

    def work(st) -> dict[str, Any]:
        model, info = fit_family(family, cfg, run.splits, seed, folder, until_epoch=until_epoch,
                                 desc=f"{family} seed {seed}")
        by_epoch = list(np.maximum.accumulate([h["dev_score"] for h in info.get("history") or []]))
        if until_epoch:
            paused = info.get("paused_dev_accuracy")
            dev = info["best_dev_accuracy"] if paused is None else paused
            st.metrics = {"seed": seed, "dev_accuracy": dev, "epochs_run": until_epoch,
                          "steps": info.get("steps"), "dev_by_epoch": by_epoch}
            run.log(f"{family} seed {seed}: dev {dev:.3f} after {until_epoch:g} epoch(s)")
            return st.metrics
        with atomic_folder(folder / "final") as tmp:
            model.save(tmp)
        scored = ModelResult(name=name, family=family, checkpoint=str(folder / "final"))
        dev, test = run.task.evaluate(run, scored, model, full=False)
        st.metrics = _row(seed, dev["metrics"], test["metrics"], dev_by_epoch=by_epoch,
                          epochs_run=info.get("epochs_run"), checkpoint=str(folder / "final"))
        run.log(f"{family} seed {seed}: dev {st.metrics['dev_accuracy']:.3f}, "
                f"test {st.metrics['test_accuracy']:.3f}")
        return st.metrics

    return dict(run.stage(name, work, reload=lambda st: st.metrics), stage=name)


def _seeds(base_seed: int, count: int) -> list[int]:
    return [(base_seed + k) % 2**32 for k in range(count)]  # every library takes seeds < 2**32


def _cost(run: Run, stages: list[str]) -> dict[str, float | None]:
    """The summed measured cost of ``stages`` (None where one of them lacks a reading)."""
    out: dict[str, float | None] = {}
    for key in SUMMED:
        values = [getattr(run.record.stage(s), key, None) for s in stages]
        out[key] = None if any(v is None for v in values) else float(sum(values))
    return out


def _base_row(run: Run, family: str) -> dict[str, Any]:
    final = run.record.model(family)
    history = final.training.history if final.training else []
    by_epoch = list(np.maximum.accumulate([h.dev_score for h in history])) \
        if history and all(h.dev_score is not None for h in history) else []
    return _row(final_config(run, family)[1], final.dev, final.test,
                stage=(final.stages or [""])[0], dev_by_epoch=by_epoch,
                epochs_run=final.training.epochs_run if final.training else None)


def seed_family(run: Run, family: str, count: int) -> SeedRuns:
    """Train and score seeds 1..count-1 of ``family``'s final configuration: all to the end,
    or early-stopped (``seeds.strategy``) for families trained by epochs."""
    if run.cfg.seeds.strategy == "early_stopped" and family_of(family).iterative:
        return _early_stopped(run, family, count)
    return seed_family_all(run, family, count)


def _early_stopped(run: Run, family: str, count: int) -> SeedRuns:
    """Every seed scored on dev after ``seeds.score_after`` of its training (a share of its
    optimizer steps: it may pause inside an epoch); the best ``seeds.keep`` (the run's final
    model among them when its score at that point is known, else trained anyway) go on to
    the end.

    Replicas train exactly ``train.epochs`` epochs (the min_steps floor is off, as in
    search trials), so pausing and resuming equals one uninterrupted run."""
    scfg = run.cfg.seeds
    cfg, base_seed = final_config(run, family)
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, min_steps=0))
    epochs = cfg.train.epochs
    after = round(scfg.score_after * epochs, 6)  # epochs, a fraction where it falls inside one
    base = _base_row(run, family)
    whole = after == int(after) and 1 <= after <= len(base["dev_by_epoch"])
    base["early_dev_accuracy"] = base["dev_by_epoch"][int(after) - 1] if whole else None
    early = {seed: _train_and_score(run, family, cfg, seed, until_epoch=after)
             for seed in _seeds(base_seed, count)[1:]}
    ranked = sorted([(-m["dev_accuracy"], k, seed) for k, (seed, m) in enumerate(early.items())]
                    + ([(-base["early_dev_accuracy"], -1, base["seed"])]
                       if base["early_dev_accuracy"] is not None else []))
    kept = {seed for _, _, seed in ranked[:scfg.keep]}
    rows, stopped = [base], []
    for seed, m in early.items():
        if seed in kept:
            row = _train_and_score(run, family, cfg, seed)
            rows.append(dict(row, early_dev_accuracy=m["dev_accuracy"]))
        else:
            stopped.append(StoppedSeed(seed=seed, dev_accuracy=m["dev_accuracy"],
                                       epochs_run=m["epochs_run"] or after, stage=m["stage"]))
    stages = [m["stage"] for m in early.values()] + [r["stage"] for r in rows[1:]]
    cost = _cost(run, stages)
    estimate = dict(cost)
    for s in stopped:  # what running it to the end would have cost more: measured per epoch
        for key in SUMMED:
            value = getattr(run.record.stage(s.stage), key, None)
            estimate[key] = None if value is None or estimate[key] is None else \
                estimate[key] + value / s.epochs_run * (epochs - s.epochs_run)
    return _save(run, family, SeedRuns(
        seeds=[r["seed"] for r in rows], summary=summarize(rows), strategy="early_stopped",
        note=f"{count} seeds scored on dev after {after:g} of {epochs} epochs; the best "
             f"{scfg.keep} continued (the run's final model is trained to the end anyway); "
             f"the statistics are over the {len(rows)} seeds trained to the end",
        per_seed=[build(SeedRow, r) for r in rows], epochs=epochs, scored_after_epochs=after,
        keep=scfg.keep, stopped=stopped, cost=cost, all_to_end_cost=estimate))


def seed_family_all(run: Run, family: str, count: int) -> SeedRuns:
    """Every seed to the end, whatever ``seeds.strategy`` says."""
    cfg, base_seed = final_config(run, family)
    rows = [_base_row(run, family)]
    rows += [_train_and_score(run, family, cfg, seed) for seed in _seeds(base_seed, count)[1:]]
    note = ("training is deterministic given the data (the solver uses no randomness), so the "
            "seed changes nothing" if family_of(family).deterministic else "")
    return _save(run, family, SeedRuns(
        seeds=[r["seed"] for r in rows], summary=summarize(rows), note=note,
        per_seed=[build(SeedRow, r) for r in rows],
        cost=_cost(run, [r["stage"] for r in rows[1:]])))


def _save(run: Run, family: str, runs: SeedRuns) -> SeedRuns:
    run.record.seed_runs[family] = runs
    run.persist()
    return runs


def stage_seeds(run: Run) -> None:
    """Seed runs for every listed family that was trained (and tested) in this run."""
    count = run.cfg.seeds.count
    for family in run.cfg.seeds.models:
        model = run.record.model(family)
        if count > 1 and model and model.test:
            seed_family(run, family, count)
