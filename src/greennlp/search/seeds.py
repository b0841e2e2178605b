"""Seed variance: the final configuration of each family retrained with several seeds.

Seed 0 of the table is the family's final model; the others are ``seed:<family>:s<k>``
stages, each trained, scored on dev and evaluated once on test (counted in the record).
The report gives mean, standard deviation, min and max on dev and test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from greennlp.search.stages import final_config

COLUMNS = ("dev_accuracy", "test_accuracy", "dev_macro_f1", "test_macro_f1")


def summarize(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean, sample standard deviation, min and max of each score over seeds.

    >>> summarize([{"dev_accuracy": 0.7}, {"dev_accuracy": 0.8}])["dev_accuracy"]["mean"]
    0.75
    """
    out = {}
    for col in COLUMNS:
        values = np.array([r[col] for r in rows if r.get(col) is not None], dtype=float)
        if len(values):
            out[col] = {"mean": round(float(values.mean()), 12),
                        "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                        "min": float(values.min()), "max": float(values.max()), "n": len(values)}
    return out


def _row(seed: int, dev: dict, test: dict, **extra: Any) -> dict[str, Any]:
    return {"seed": seed, "dev_accuracy": dev["accuracy"]["value"],
            "test_accuracy": test["accuracy"]["value"], "dev_macro_f1": dev["macro_f1"]["value"],
            "test_macro_f1": test["macro_f1"]["value"], **extra}


def seed_family(run, family: str, count: int) -> None:
    """Train and score seeds 1..count-1 of ``family``'s final configuration."""
    from greennlp.evaluate import score_split
    from greennlp.train.classifiers import fit_family

    final = run.record.model(family)
    cfg, base_seed = final_config(run, family)
    rows = [_row(base_seed, final.dev, final.test, stage=(final.stages or [""])[0])]
    for k in range(1, count):
        seed = base_seed + k
        name = f"seed:{family}:s{seed}"
        done = run.record.stage(name)
        if done:
            rows.append(dict(done.metrics, stage=name))
            continue
        folder = Path(run.run_dir) / "models" / family / "seeds" / f"s{seed}"
        with run.stage(name) as st:
            model, info = fit_family(family, cfg, run.splits, seed, folder,
                                     desc=f"{family} seed {seed}")
            model.save(folder / "final")
            dev = score_split(model, run.splits.dev, run.cfg.evaluate, seed=run.cfg.seed)
            test = score_split(model, run.splits.test, run.cfg.evaluate, seed=run.cfg.seed)
            run.record.test_evaluations += 1
            np.save(folder / "test_proba.npy", test["proba"])
            st.metrics = _row(seed, dev["metrics"], test["metrics"],
                              epochs_run=info.get("epochs_run"), checkpoint=str(folder / "final"))
        rows.append(dict(st.metrics, stage=name))
        run.log(f"{family} seed {seed}: dev {st.metrics['dev_accuracy']:.3f}, "
                f"test {st.metrics['test_accuracy']:.3f}")
    deterministic = family == "tfidf_logreg"
    run.record.seed_runs[family] = {
        "seeds": [r["seed"] for r in rows], "per_seed": rows, "summary": summarize(rows),
        "note": "training is deterministic given the data (the solver uses no randomness), so "
                "the seed changes nothing" if deterministic else ""}
    run.persist()


def stage_seeds(run) -> None:
    """Seed runs for every listed family that was trained in this run."""
    count = run.cfg.seeds.count
    for family in run.cfg.seeds.models:
        if count > 1 and run.record.model(family) and run.record.model(family).test:
            seed_family(run, family, count)
