"""What compression bought, read from the record alone: the compression stages and the
report both use it, so it lives below them (the stage packages are peers).

Variants are compared with the dense reference they descend from; speed-ups come from
timing the two side by side where the evaluation did (see
:func:`greennlp.compress.evaluation.paired_speedup`). The "best variant"
is chosen on dev (never test): the fastest at batch 32 among those whose dev accuracy
is within ``max_drop_points`` of the reference's; its test accuracy drop is reported.
"""

from __future__ import annotations

from typing import Any

from greennlp.evaluate.pareto import pareto_front
from greennlp.record import ModelResult, RunRecord

COST_AXES = (("latency_ms_b1", "latency at batch 1 (ms/example)"),
             ("size_mb", "size on disk (MB)"),
             ("energy_kwh_per_1m", "energy per 1M examples (kWh, estimate)"))


def root_of(record: RunRecord, model: ModelResult) -> ModelResult:
    """The dense model a variant descends from (itself for a dense model)."""
    seen = set()
    while model.variant_of and model.name not in seen:
        seen.add(model.name)
        parent = record.model(model.variant_of)
        if parent is None:
            break
        model = parent
    return model


def _acc(m: ModelResult, split: str, metric: str = "accuracy") -> float | None:
    scores = getattr(m, split)
    return scores[metric]["value"] if metric in scores else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def variant_rows(record: RunRecord) -> list[dict[str, Any]]:
    """Each evaluated variant against its dense root: drops (points) and speed-ups (x)."""
    rows, metric = [], record.selection_metric
    for m in record.models:
        root = root_of(record, m)
        if not m.variant_of or root is m or not m.test or not root.test:
            continue
        e, r, c = m.efficiency, root.efficiency, m.compression
        paired = c.paired_timing if c else None
        side_by_side = paired is not None and paired.reference == root.name
        rows.append({
            "name": m.name, "reference": root.name, "method": c.method if c else "?",
            "dev_accuracy": _acc(m, "dev"), "test_accuracy": _acc(m, "test"),
            "dev_drop_points": 100 * (_acc(root, "dev", metric) - _acc(m, "dev", metric)),
            "selection_metric": metric,
            "test_metric_drop_points": 100 * (_acc(root, "test", metric) - _acc(m, "test", metric)),
            "drop_points": 100 * (_acc(root, "test") - _acc(m, "test")),
            "throughput_speedup": paired.throughput_speedup if side_by_side else
            _ratio(e.get("throughput_b32"), r.get("throughput_b32")),
            "latency_speedup": paired.latency_speedup if side_by_side else
            _ratio(r.get("latency_ms_b1"), e.get("latency_ms_b1")),
            "speedup_timing": "side by side" if side_by_side else "separate timings",
            "size_ratio": _ratio(e.get("size_mb"), r.get("size_mb")),
            "energy_ratio": _ratio(e.get("energy_kwh_per_1m"), r.get("energy_kwh_per_1m")),
            "agreement_dev": c.fidelity_dev.agreement if c and c.fidelity_dev else None,
        })
    return rows


def frontier(record: RunRecord) -> dict[str, list[str]]:
    """Per cost axis, the models on the test-accuracy / cost Pareto frontier."""
    models = [m for m in record.models if m.test]
    out = {}
    for key, _ in COST_AXES:
        front = pareto_front([_acc(m, "test") for m in models],
                             [m.efficiency.get(key) for m in models])
        out[key] = [m.name for m, on in zip(models, front) if on]
    return out


def summarize(record: RunRecord, max_drop_points: float = 1.0, reference: str | None = None
              ) -> dict[str, Any]:
    """Variant rows, the frontier per cost axis, and the best variant of ``reference``
    (any reference when None), chosen on dev."""
    rows = variant_rows(record)
    ok = [r for r in rows if r["dev_drop_points"] <= max_drop_points and r["throughput_speedup"]
          and reference in (None, r["reference"])]
    best = max(ok, key=lambda r: r["throughput_speedup"], default=None)
    return {"variants": rows, "pareto": frontier(record), "best": best,
            "max_drop_points": max_drop_points,
            "selection": f"fastest at batch 32 among variants within max_drop_points of their "
                         f"reference on dev {record.selection_metric}; the drop shown is on test"}
