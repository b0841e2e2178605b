"""Views of the search, seed and comparison sections of a record (reading only)."""

from __future__ import annotations

from typing import Any

from greennlp.record import RunRecord
from greennlp.report.views import model_costs
from greennlp.evaluate.evp import evp_curve

COST_KEYS = ("duration_s", "energy_kwh", "co2_kg", "cost_usd")


def trial_rows(record: RunRecord, family: str) -> list[dict[str, Any]]:
    """One row per trial: its point, budget reached, dev score and measured cost."""
    state = record.search[family]
    rows = []
    for t in state.trials:
        stage = record.any_stage(f"search:{family}:trial{t.trial_id:03d}")
        row = {"trial": t.trial_id, "params": t.params, "seed": t.seed,
               "epochs": t.epochs_done, "score": t.score, "finished": t.finished,
               "best": t.trial_id == state.best_trial}
        for key in COST_KEYS:
            row[key] = getattr(stage, key, None) if stage else None
        rows.append(row)
    return rows


def evp_inputs(record: RunRecord) -> tuple[dict[str, dict], dict[str, dict], list[str]]:
    """EVP curves of random/grid-searched families, single points for unsearched models,
    and notes for families whose trials do not fit the EVP assumptions."""
    curves, points, notes = {}, {}, []
    for family, state in record.search.items():
        if not state.completed:
            continue
        if state.method == "asha":
            notes.append(f"{family}: searched with ASHA, whose trials stop at different budgets "
                         "and depend on each other, so the i.i.d. EVP estimator does not apply.")
            continue
        rows = [r for r in trial_rows(record, family) if r["score"] is not None]
        costs = {k: [r[k] for r in rows] for k in COST_KEYS}
        curves[family] = evp_curve([r["score"] for r in rows], costs)
    for model in record.models:  # compressed variants are not trained families: left out
        if (model.family in curves or model.name in record.search or model.variant_of
                or "accuracy" not in model.dev):
            continue
        c = model_costs(record, model)
        points[model.name] = {"n": 1, "score": model.dev["accuracy"]["value"],
                              **{k: c[f"train_{k}"] for k in COST_KEYS}}
    return curves, points, notes


def seed_rows(record: RunRecord) -> list[dict[str, Any]]:
    """Per family: mean, sd, min, max of dev and test accuracy over seeds."""
    rows = []
    for family, runs in record.seed_runs.items():
        s = runs.summary
        rows.append({"family": family, "seeds": runs.seeds, "note": runs.note,
                     **{f"{col}_{stat}": getattr(s[col], stat) if col in s else None
                        for col in ("dev_accuracy", "test_accuracy", "test_macro_f1")
                        for stat in ("mean", "std", "min", "max")}})
    return rows
