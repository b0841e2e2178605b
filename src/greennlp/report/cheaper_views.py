"""Views of cheaper training in a record (reading only): the two seed strategies on one
budget axis, and the accuracy of the run's models against their training energy with the
cost of ranking the training data added."""

from __future__ import annotations

from typing import Any

from greennlp.evaluate.evp import evp_curve
from greennlp.record import RunRecord, SeedRuns
from greennlp.report.views import model_rows

KEY = "energy_kwh"


def _early_outcome(runs: SeedRuns, after: int, keep: int) -> float | None:
    """The best final dev score the early-stopped strategy would have kept, from the
    per-epoch dev scores of seeds all trained to the end (pausing and resuming a seed
    equals one uninterrupted run, so this is what it would have found)."""
    rows = runs.per_seed
    if any(len(r.dev_by_epoch) < after for r in rows):
        return None
    ranked = sorted(range(len(rows)), key=lambda i: (-rows[i].dev_by_epoch[after - 1], i))
    return max(rows[i].dev_accuracy for i in ranked[:keep])


def seed_strategies(record: RunRecord) -> dict[str, dict[str, Any]]:
    """Per seeded family with a measured cost: the EVP curve of the seeds trained to the
    end (all-to-the-end runs only: early-stopped survivors are not a random sample),
    and the all-to-the-end and early-stopped points (budget: the seed stages plus one
    seed's cost for the run's own final model, so both count N seeds)."""
    scfg = record.config.get("seeds", {})
    out = {}
    for family, runs in record.seed_runs.items():
        n_full = len(runs.per_seed)
        if runs.cost.get(KEY) is None or n_full < 2:
            continue
        dev = [r.dev_accuracy for r in runs.per_seed]
        if runs.strategy == "early_stopped":
            total = runs.all_to_end_cost.get(KEY)
            n = n_full + len(runs.stopped)
            per_seed = total / (n - 1) if total else None
            out[family] = {
                "strategy": "early_stopped", "n": n, "keep": runs.keep, "curve": None,
                "early": {"budget": runs.cost[KEY] + (per_seed or 0.0), "score": max(dev),
                          "estimated": False},
                "all": {"budget": total + per_seed if total else None, "score": None,
                        "estimated": True}}
            continue
        per_seed = runs.cost[KEY] / (n_full - 1)
        curve = evp_curve(dev, {KEY: [per_seed] * n_full})
        entry = {"strategy": "all", "n": n_full, "curve": curve, "keep": None, "early": None,
                 "all": {"budget": per_seed * n_full, "score": max(dev), "estimated": False}}
        epochs = max((r.epochs_run or 0) for r in runs.per_seed)
        after = min(epochs - 1, max(1, round(scfg.get("score_after", 0.25) * epochs)))
        keep = min(scfg.get("keep", 3), n_full - 1)
        score = _early_outcome(runs, after, keep) if epochs > 1 else None
        if score is not None:
            share = (n_full * after + keep * (epochs - after)) / (n_full * epochs)
            entry["keep"] = keep
            entry["early"] = {"budget": per_seed * n_full * share, "score": score,
                              "estimated": True, "after": after, "epochs": epochs}
        out[family] = entry
    return out


def data_budget(record: RunRecord) -> dict[str, Any] | None:
    """The run's trained models (test accuracy, training energy) and, when the training
    data were ranked, the ranking's cost added to each."""
    subset = record.data.get("train_subset")
    trained = {m.name for m in record.models if not m.variant_of}
    rows = [r for r in model_rows(record) if r["test_accuracy"] and r.get("train_energy_kwh")
            and r["name"] in trained]
    if not rows:
        return None
    extra = (subset or {}).get("ranking_cost", {}).get(KEY) or 0.0
    return {"subset": subset, "ranking_kwh": extra,
            "points": [{"name": r["name"], "accuracy": r["test_accuracy"],
                        "train_kwh": r["train_energy_kwh"],
                        "with_ranking_kwh": r["train_energy_kwh"] + extra} for r in rows]}


def seed_strategy_lines(record: RunRecord) -> list[str]:
    """One sentence per family for the report and the checklist."""
    lines = []
    for family, s in seed_strategies(record).items():
        e, a = s["early"], s["all"]
        if s["strategy"] == "early_stopped":
            lines.append(f"{family}: early-stopped seeds ({s['n']} started, best {s['keep']} "
                         f"continued): best dev accuracy {e['score']:.3f} for {e['budget']:.2e} "
                         f"kWh; all {s['n']} to the end would have cost about "
                         f"{a['budget']:.2e} kWh (estimate from the stopped seeds' cost per "
                         f"epoch)")
        elif e:
            lines.append(f"{family}: all {s['n']} seeds to the end: best dev accuracy "
                         f"{a['score']:.3f} for {a['budget']:.2e} kWh; early-stopped (scored "
                         f"after {e['after']} of {e['epochs']} epochs, best {s['keep']} "
                         f"continued) would have found {e['score']:.3f} for about "
                         f"{e['budget']:.2e} kWh (estimate from the same seeds' per-epoch dev "
                         f"scores)")
    return lines

