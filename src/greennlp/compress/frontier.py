"""The compression plan searched on dev under a budget (``compress.plan=frontier``).

1. Shapes: every layers x heads x FFN width of ``compress.frontier``, largest first.
2. Students: each shape is pruned from the reference by importance and distilled
   (:class:`~greennlp.compress.student.StructuredPruner`), while the budget lasts. A
   shape whose student loses more than twice ``max_drop_points`` on dev rules out every
   shape no larger in any dimension (a smaller student of the same teacher is assumed
   no better), so the budget goes to shapes that can still make the frontier.
3. Runtimes: every runtime of every student (:mod:`greennlp.compress.runtimes`), kept
   when it agrees with its torch student on dev, all timed side by side with the dense
   reference in alternating rounds on dev texts (median speed-ups).
4. Choice on dev: the dev Pareto set (the dev score in the run's selection metric against
   speed-up); the fastest within
   ``max_drop_points`` and within half of it first, then the rest of the set by speed, at
   most ``max_test``. Only these (and the torch students they run) are scored on test,
   once, by the compression stages.

Students and runtimes are saved as they are made, so a resumed search reuses them.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from greennlp.compress import runtimes as rt
from greennlp.compress.base import Context
from greennlp.compress.structured import Shape, teacher_shape
from greennlp.compress.student import StructuredPruner, augmented_texts
from greennlp.evaluate.metrics import precision_recall_f1
from greennlp.evaluate.pareto import pareto_front
from greennlp.models import load_model
from greennlp.models.pruned_heads import head_size

FACTS = "frontier_facts.json"


def dev_score(model: Any, ctx: Context, metric: str = "accuracy",
              proba: np.ndarray | None = None) -> float:
    """``model``'s dev score in the run's selection metric (accuracy, macro F1, ...)."""
    proba = model.predict_proba(ctx.splits.dev["text"].tolist(), 64) if proba is None else proba
    pred = [model.labels[i] for i in proba.argmax(1)]
    truth = ctx.splits.dev["label"].tolist()
    if metric == "accuracy":
        return float(np.mean(np.array(pred) == np.array(truth)))
    return float(precision_recall_f1(truth, pred, labels=model.labels)[metric])


def shapes(model: Any, fcfg: Any) -> list[Shape]:
    """The shapes to try, largest (most multiply-adds per token) first, the teacher's
    own shape left out."""
    full = teacher_shape(model)
    hidden, size = int(model.config.hidden_size), head_size(model.config)
    found = {}
    for layers in fcfg.layers:
        for h in fcfg.heads:
            for f in fcfg.ffn:
                heads, ffn = max(1, round(h * full.heads)), max(1, round(f * full.ffn))
                shape = Shape(min(layers, full.layers), heads if heads < full.heads else None,
                              ffn if ffn < full.ffn else None)
                if shape != Shape(full.layers):
                    found[shape] = shape.layers * (4 * hidden * heads * size + 2 * hidden * ffn)
    return sorted(found, key=lambda s: (-found[s], s.label))


def smaller_or_equal(a: Shape, b: Shape, full: Shape) -> bool:
    """``a`` is no larger than ``b`` in layers, heads and FFN width."""
    return (a.layers <= b.layers and (a.heads or full.heads) <= (b.heads or full.heads)
            and (a.ffn or full.ffn) <= (b.ffn or full.ffn))


def train_students(teacher: Any, ctx: Context, fcfg: Any, reference_dev: float,
                   max_drop: float, root: Path, metric: str = "accuracy"
                   ) -> list[dict[str, Any]]:
    """Distil one student per shape while the budget lasts; one row per shape."""
    full, t0 = teacher_shape(teacher.model), time.perf_counter()
    shared_scores = shared_extra = None
    rows, failed = [], []
    for shape in shapes(teacher.model, fcfg):
        folder = root / shape.label
        row: dict[str, Any] = {"shape": shape.label, "folder": str(folder)}
        rows.append(row)
        if any(smaller_or_equal(shape, f, full) for f in failed):
            row["skipped"] = "a larger student already lost more than 2 x max_drop_points"
            continue
        spent = (time.perf_counter() - t0) / 60.0
        if fcfg.budget_minutes and spent >= fcfg.budget_minutes and not (folder / FACTS).exists():
            row["skipped"] = f"budget of {fcfg.budget_minutes:g} minutes spent"
            continue
        if not (folder / FACTS).exists():
            pruner = StructuredPruner(shape, fcfg)
            if shared_scores is None:
                shared_scores = pruner.scores(teacher, ctx)
                shared_extra = augmented_texts(teacher, ctx, fcfg.augment, fcfg.replace_copies,
                                               fcfg.max_augmented)
            student = pruner.compress(teacher, ctx, shared_scores, shared_extra)
            student.save(folder)
            facts = {**pruner.describe(), "dev_score": dev_score(student, ctx, metric),
                     "metric": metric}
            (folder / FACTS).write_text(json.dumps(facts, default=str, indent=1))
            ctx.log(f"frontier: {shape.label}: dev {metric} {facts['dev_score']:.4f} "
                    f"(reference {reference_dev:.4f})")
        facts = json.loads((folder / FACTS).read_text())
        row.update(dev_score=facts["dev_score"], facts=facts)
        if 100 * (reference_dev - facts["dev_score"]) > 2 * max_drop:
            failed.append(shape)
    return rows


def runtime_candidates(students: list[dict[str, Any]], ctx: Context, fcfg: Any,
                       metric: str = "accuracy") -> list[dict[str, Any]]:
    """Every runtime of every trained student that agrees with it on dev."""
    dev = ctx.splits.dev["text"].tolist()
    train = ctx.splits.train["text"].tolist()
    available = rt.available_runtimes()
    out = []
    for row in students:
        if "dev_score" not in row:
            continue
        student = load_model(row["folder"])
        ref = student.predict_proba(dev, 64).argmax(1)
        out.append({"student": row["shape"], "runtime": "torch", "model": student,
                    "folder": row["folder"], "dev_score": row["dev_score"],
                    "agreement": 1.0})
        for kind in fcfg.runtimes:
            if kind == "torch" or available.get(kind):
                continue
            folder = Path(f"{row['folder']}+{kind}")
            model = (load_model(folder) if (folder / FACTS).exists()
                     else _build(student, kind, folder, train, Path(ctx.work_dir)))
            proba = model.predict_proba(dev, 64)
            agree = float(np.mean(proba.argmax(1) == ref))
            cand = {"student": row["shape"], "runtime": kind, "model": model,
                    "folder": str(folder), "agreement": agree,
                    "dev_score": dev_score(model, ctx, metric, proba)}
            if agree >= fcfg.min_agreement:
                out.append(cand)
            else:
                row.setdefault("runtimes_dropped", {})[kind] = agree
    return out


def _build(student: Any, kind: str, folder: Path, train: list[str], scratch: Path) -> Any:
    """Build one runtime in ``scratch``, save it to ``folder`` with its facts."""
    model = rt.build(student, kind, scratch / kind, train)
    model.save(folder)
    (folder / FACTS).write_text(json.dumps(model.meta.get("source", {}), default=str))
    shutil.rmtree(scratch / kind, ignore_errors=True)
    return load_model(folder)


def time_candidates(reference: Callable, candidates: list[dict[str, Any]], texts: list[str],
                    rounds: int, examples: int = 96) -> None:
    """Speed-up at batch 32 of each candidate over the dense reference: each round times
    the reference before and after the candidates; medians over rounds."""
    bulk = [texts[i % len(texts)] for i in range(examples)]

    def timed(predict: Callable) -> float:
        t0 = time.perf_counter()
        predict(bulk, 32)
        return time.perf_counter() - t0
    for c in [None, *candidates]:  # warm-up
        (reference if c is None else c["model"].predict_proba)(bulk[:32], 32)
    ratios: list[list[float]] = [[] for _ in candidates]
    for _ in range(rounds):
        before = timed(reference)
        spent = [timed(c["model"].predict_proba) for c in candidates]
        ref = (before + timed(reference)) / 2.0
        for r, s in zip(ratios, spent):
            r.append(ref / s)
    for c, r in zip(candidates, ratios):
        c["speedup"] = float(np.median(r))


def choose(candidates: list[dict[str, Any]], reference_dev: float, max_drop: float,
           limit: int) -> list[dict[str, Any]]:
    """The dev Pareto set, the fastest within ``max_drop`` and ``max_drop / 2`` first."""
    if not candidates:
        return []
    front = pareto_front([c["dev_score"] for c in candidates],
                         [1.0 / c["speedup"] for c in candidates])
    chosen = []
    for drop in (max_drop, max_drop / 2.0):
        ok = [c for c in candidates if 100 * (reference_dev - c["dev_score"]) <= drop]
        best = max(ok, key=lambda c: c["speedup"], default=None)
        if best is not None and best not in chosen:
            chosen.append(best)
    rest = sorted((c for c, on in zip(candidates, front) if on and c not in chosen),
                  key=lambda c: -c["speedup"])
    return (chosen + rest)[:limit]


def search(teacher: Any, ctx: Context, fcfg: Any, max_drop: float, root: Path,
           metric: str = "accuracy") -> dict[str, Any]:
    """The whole search, scored on dev in ``metric`` (the run's selection metric);
    returns what the record keeps (no models)."""
    reference_dev = dev_score(teacher, ctx, metric)
    students = train_students(teacher, ctx, fcfg, reference_dev, max_drop, root, metric)
    candidates = runtime_candidates(students, ctx, fcfg, metric)
    time_candidates(teacher.predict_proba, candidates, ctx.splits.dev["text"].tolist(),
                    fcfg.timing_rounds)
    chosen = choose(candidates, reference_dev, max_drop, fcfg.max_test)
    winners = {}
    for shape in {c["student"] for c in candidates}:
        mine = sorted((c for c in candidates if c["student"] == shape), key=lambda c: -c["speedup"])
        winners[shape] = {"runtime": mine[0]["runtime"],
                          "margin_over_next": (mine[0]["speedup"] / mine[1]["speedup"]
                                               if len(mine) > 1 else None)}
    keep = ("student", "runtime", "folder", "dev_score", "agreement", "speedup")
    return {"metric": metric, "reference_dev_score": reference_dev, "max_drop_points": max_drop,
            "students": [{k: v for k, v in s.items() if k != "facts"} for s in students],
            "candidates": [{k: c[k] for k in keep} for c in candidates],
            "chosen": [{k: c[k] for k in keep} for c in chosen],
            "fastest_runtime": winners, "load_average": rt.load_average()}
