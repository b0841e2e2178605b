"""Seed variance: the final configuration of each family retrained with several seeds.

Seed 0 of the table is the family's final model; the others are ``seed:<family>:s<k>``
stages, each trained, scored on dev and evaluated once on test (through the run's test
gate). The report gives mean, standard deviation, min and max on dev and test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from greennlp.files import atomic_folder
from greennlp.models import family as family_of
from greennlp.record import ModelResult, SeedRow, SeedRuns, SeedStats
from greennlp.run import Run
from greennlp.search.stages import final_config
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


def seed_family(run: Run, family: str, count: int) -> SeedRuns:
    """Train and score seeds 1..count-1 of ``family``'s final configuration."""
    final = run.record.model(family)
    cfg, base_seed = final_config(run, family)
    rows = [_row(base_seed, final.dev, final.test, stage=(final.stages or [""])[0])]
    for k in range(1, count):
        seed = (base_seed + k) % 2**32  # every library takes seeds below 2**32
        name = f"seed:{family}:s{seed}"
        folder = Path(run.run_dir) / "models" / family / "seeds" / f"s{seed}"

        def train_and_score(st, seed=seed, name=name, folder=folder) -> dict[str, Any]:
            model, info = fit_family(family, cfg, run.splits, seed, folder,
                                     desc=f"{family} seed {seed}")
            with atomic_folder(folder / "final") as tmp:
                model.save(tmp)
            scored = ModelResult(name=name, family=family, checkpoint=str(folder / "final"))
            dev, test = run.task.evaluate(run, scored, model, full=False)
            st.metrics = _row(seed, dev["metrics"], test["metrics"],
                              epochs_run=info.get("epochs_run"), checkpoint=str(folder / "final"))
            run.log(f"{family} seed {seed}: dev {st.metrics['dev_accuracy']:.3f}, "
                    f"test {st.metrics['test_accuracy']:.3f}")
            return st.metrics

        metrics = run.stage(name, train_and_score, reload=lambda st: st.metrics)
        rows.append(dict(metrics, stage=name))
    note = ("training is deterministic given the data (the solver uses no randomness), so the "
            "seed changes nothing" if family_of(family).deterministic else "")
    runs = SeedRuns(seeds=[r["seed"] for r in rows], summary=summarize(rows), note=note,
                    per_seed=[SeedRow(**r) for r in rows])
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
