"""Per-class views that stay small however many classes a run has.

Up to :data:`~greennlp.evaluate.metrics.MANY_CLASSES` classes a model's confusion
matrix is drawn; above it the report shows tables instead: the most confused pairs of
classes (true, predicted, count) and the classes with the lowest F1. Both are made from
the counts in the record in time and memory linear in its cells, with no figure whose
size grows with the classes (a 1,000-class confusion image took 21 GB to draw).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from greennlp.evaluate.metrics import MANY_CLASSES

PAIRS_SHOWN = 20


def many(labels: Sequence[str]) -> bool:
    """Too many classes for an image, or for a column or line per class."""
    return len(labels) > MANY_CLASSES


def confused_pairs(matrix: Sequence[Sequence[int]], labels: Sequence[str],
                   limit: int = PAIRS_SHOWN) -> list[dict[str, Any]]:
    """The ``limit`` largest off-diagonal cells: which class is taken for which, how
    often, and what share of the true class that is.

    >>> confused_pairs([[5, 3], [1, 4]], ["a", "b"])[0]
    {'true': 'a', 'predicted': 'b', 'count': 3, 'share_of_true': 0.375}
    """
    cm = np.asarray(matrix, dtype=np.int64)
    if cm.size == 0:
        return []
    off = cm.copy()
    np.fill_diagonal(off, 0)
    flat = off.ravel()
    take = min(limit, int((flat > 0).sum()))
    top = np.argpartition(-flat, take - 1)[:take] if take else np.array([], dtype=int)
    top = top[np.lexsort((top, -flat[top]))]  # largest first; ties in matrix order
    support = cm.sum(1)
    rows = []
    for cell in top.tolist():
        i, j = divmod(cell, cm.shape[1])
        rows.append({"true": labels[i], "predicted": labels[j], "count": int(flat[cell]),
                     "share_of_true": float(flat[cell] / support[i]) if support[i] else 0.0})
    return rows


def lowest_f1(scores: dict[str, dict[str, float]], matrix: Sequence[Sequence[int]],
              labels: Sequence[str], limit: int = MANY_CLASSES) -> list[dict[str, Any]]:
    """The ``limit`` classes with the lowest test F1 (then the most examples): support,
    and precision, recall and F1 as ``{value, low, high}`` where the record has them."""
    support = np.asarray(matrix, dtype=np.int64).sum(1) if len(matrix) else \
        np.zeros(len(labels), dtype=np.int64)
    rows = [{"label": lab, "support": int(support[i]),
             **{kind: scores.get(f"{kind}_{lab}") for kind in ("precision", "recall", "f1")}}
            for i, lab in enumerate(labels)]
    rows.sort(key=lambda r: ((r["f1"] or {}).get("value", 0.0), -r["support"]))
    return rows[:limit]


def confusion_tables(model: Any) -> dict[str, Any]:
    """What the report shows of ``model``'s test confusions when it has many classes."""
    return {"name": model.name, "classes": len(model.labels),
            "pairs": confused_pairs(model.confusion_matrix, model.labels),
            "lowest": lowest_f1(model.test, model.confusion_matrix, model.labels)}


def card_per_class(model: Any) -> tuple[dict[str, Any], int]:
    """The per-class scores a model card lists (precision_<label>, ...) and how many
    classes it leaves out: all classes up to MANY_CLASSES, else the lowest by F1."""
    labels = list(model.labels)
    keep = set(labels)
    if many(labels):
        keep = {r["label"] for r in lowest_f1(model.test, model.confusion_matrix, labels)}
    scores = {k: v for k, v in model.test.items() if not k.startswith("macro")
              and k.split("_", 1)[0] in ("precision", "recall", "f1")
              and k.split("_", 1)[1:] and k.split("_", 1)[1] in keep}
    return scores, len(labels) - len(keep)
