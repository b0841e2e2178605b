"""Classification metrics as small pure functions over a confusion matrix.

Every metric is derived from confusion counts, so the same code scores one test set
or a thousand bootstrap resamples at once (``cm`` may have leading batch axes).
Zero divisions give 0, as scikit-learn's ``zero_division=0``. The tests check each
function against scikit-learn.

>>> accuracy(["a", "b", "b"], ["a", "b", "a"])
{'accuracy': 0.6666666666666666}
>>> precision_recall_f1(["a", "b", "b"], ["a", "b", "a"])["macro_f1"]
0.6666666666666666
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np


def label_index(y_true: Sequence[Any], y_pred: Sequence[Any],
                labels: Sequence[Any] | None = None) -> tuple[np.ndarray, np.ndarray, list]:
    """Map labels to indices 0..K-1 (sorted union of both, unless ``labels`` is given)."""
    if labels is None:
        labels = sorted(set(np.asarray(y_true).tolist()) | set(np.asarray(y_pred).tolist()))
    pos = {lab: i for i, lab in enumerate(labels)}
    return (np.array([pos[y] for y in np.asarray(y_true).tolist()], dtype=np.int64),
            np.array([pos[y] for y in np.asarray(y_pred).tolist()], dtype=np.int64), list(labels))


# Above this many classes a report shows tables (the most confused pairs, the classes
# with the lowest F1) instead of a K x K confusion image, and per-class columns are cut
# to this many classes: a 1,000-class image took 21 GB to draw.
MANY_CLASSES = 30


def confusion_counts(true_idx: np.ndarray, pred_idx: np.ndarray, n_classes: int) -> np.ndarray:
    """K x K counts; rows are true classes, columns predicted (like scikit-learn)."""
    flat = np.bincount(true_idx * n_classes + pred_idx, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num, dtype=float), where=den != 0)


def scores_from_confusion(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy and per-class / macro / micro / weighted precision, recall and F1.

    Parameters
    ----------
    cm
        Confusion counts of shape ``(..., K, K)``.

    Returns
    -------
    dict
        Arrays of shape ``(...,)`` for aggregates and ``(..., K)`` for ``per_class_*``.
    """
    cm = np.asarray(cm, dtype=float)
    return scores_from_counts(np.diagonal(cm, axis1=-2, axis2=-1), cm.sum(-1), cm.sum(-2))


def scores_from_counts(tp: np.ndarray, support: np.ndarray, predicted: np.ndarray
                       ) -> dict[str, np.ndarray]:
    """:func:`scores_from_confusion` from what it needs of the matrix, shape ``(..., K)``
    each: the hits (its diagonal), the true counts (row sums) and the predicted counts
    (column sums). With many classes the ``K x K`` matrix is never made."""
    tp, support, predicted = (np.asarray(a, dtype=float) for a in (tp, support, predicted))
    total = support.sum(-1)
    precision = _safe_div(tp, predicted)
    recall = _safe_div(tp, support)
    f1 = _safe_div(2 * precision * recall, precision + recall)
    weights = _safe_div(support, total[..., None])
    micro = _safe_div(tp.sum(-1), total)  # single-label: micro P = R = F1 = accuracy
    return {
        "accuracy": micro,
        "macro_precision": precision.mean(-1), "macro_recall": recall.mean(-1),
        "macro_f1": f1.mean(-1),
        "micro_precision": micro, "micro_recall": micro, "micro_f1": micro,
        "weighted_f1": (f1 * weights).sum(-1),
        "per_class_precision": precision, "per_class_recall": recall, "per_class_f1": f1,
    }


def accuracy(y_true: Sequence[Any], y_pred: Sequence[Any]) -> dict[str, float]:
    """Fraction of exact matches."""
    t, p, _ = label_index(y_true, y_pred)
    return {"accuracy": float(np.mean(t == p)) if len(t) else 0.0}


def precision_recall_f1(y_true: Sequence[Any], y_pred: Sequence[Any], *,
                        labels: Sequence[Any] | None = None) -> dict[str, float]:
    """Per-class (``precision_<label>`` ...) and macro / micro / weighted P, R, F1."""
    t, p, labels = label_index(y_true, y_pred, labels)
    s = scores_from_confusion(confusion_counts(t, p, len(labels)))
    out = {k: float(v) for k, v in s.items() if not k.startswith("per_class") and k != "accuracy"}
    for kind in ("precision", "recall", "f1"):
        for lab, v in zip(labels, s[f"per_class_{kind}"]):
            out[f"{kind}_{lab}"] = float(v)
    return out


def confusion_matrix(y_true: Sequence[Any], y_pred: Sequence[Any], *,
                     labels: Sequence[Any] | None = None) -> dict[str, Any]:
    """The confusion matrix as nested lists, with its label order."""
    t, p, labels = label_index(y_true, y_pred, labels)
    return {"labels": list(labels), "matrix": confusion_counts(t, p, len(labels)).tolist()}


METRICS: dict[str, Callable[..., dict[str, Any]]] = {
    "accuracy": accuracy,
    "precision_recall_f1": precision_recall_f1,
    "confusion_matrix": confusion_matrix,
}
