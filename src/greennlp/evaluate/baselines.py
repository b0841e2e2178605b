"""Baselines every model must beat, the choice of selection metric, and the sanity check.

* Majority class: always the most frequent training class.
* Stratified random: a class drawn with the training class frequencies (seeded).

Both are scored like a model (bootstrap intervals), so a table can show them beside the
models. A model fails the sanity check when it predicts one class for nearly all inputs
(while the true labels are not that skewed), or when its accuracy interval does not
clear the majority baseline: on a corpus with 87% "ham", 0.877 accuracy can mean that
nothing was learned.

>>> label_profile(["a"] * 87 + ["b"] * 13)["imbalanced"]
True
>>> resolve_selection_metric("auto", ["a"] * 87 + ["b"] * 13)[0]
'macro_f1'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from greennlp.evaluate.bootstrap import bootstrap_scores

IMBALANCE_RATIO = 2.0  # largest class / smallest class from which the labels count as imbalanced
BASELINES = ("majority", "stratified")


def label_profile(labels: Sequence[str]) -> dict[str, Any]:
    """Class counts, the majority class and its share, and whether the labels are imbalanced."""
    counts = Counter(str(x) for x in labels)
    total = sum(counts.values())
    major, n_major = max(sorted(counts.items()), key=lambda kv: kv[1])
    ratio = n_major / min(counts.values()) if counts else 1.0
    return {"counts": dict(sorted(counts.items())), "majority_class": major,
            "majority_share": n_major / total if total else 0.0, "imbalance_ratio": ratio,
            "imbalanced": ratio >= IMBALANCE_RATIO}


def resolve_selection_metric(setting: str, train_labels: Sequence[str]) -> tuple[str, str]:
    """The metric that selects models (``evaluate.selection_metric``) and why.

    ``auto`` is macro F1 when the training labels are imbalanced (a model that ignores a
    small class keeps a high accuracy but not a high macro F1), else accuracy.
    """
    prof = label_profile(train_labels)
    shape = (f"the largest training class ({prof['majority_class']}, "
             f"{prof['majority_share']:.1%}) is {prof['imbalance_ratio']:.2f}x the smallest")
    if setting != "auto":
        return setting, f"set by evaluate.selection_metric; {shape}"
    if prof["imbalanced"]:
        return "macro_f1", f"auto: {shape} (at least {IMBALANCE_RATIO:g}x), so macro F1"
    return "accuracy", f"auto: {shape} (under {IMBALANCE_RATIO:g}x), so accuracy"


def baseline_predictions(kind: str, train_labels: Sequence[str], labels: Sequence[str], n: int,
                         seed: int = 0) -> np.ndarray:
    """Label indices a baseline predicts for ``n`` inputs."""
    labels = list(labels)
    tally = Counter(train_labels)
    counts = np.array([tally.get(lab, 0) for lab in labels], float)
    if kind == "majority":
        return np.full(n, int(counts.argmax()), dtype=np.int64)
    if kind == "stratified":
        return np.random.default_rng(seed).choice(len(labels), size=n, p=counts / counts.sum())
    raise ValueError(f"unknown baseline {kind!r}; use one of {BASELINES}")


def baseline_scores(train_labels: Sequence[str], true_idx: np.ndarray, labels: Sequence[str], *,
                    n_samples: int = 1000, confidence: float = 0.95, seed: int = 0
                    ) -> dict[str, dict[str, dict[str, float]]]:
    """Every metric of each baseline on ``true_idx``, with bootstrap intervals."""
    true_idx = np.asarray(true_idx)
    return {kind: bootstrap_scores(true_idx, baseline_predictions(kind, train_labels, labels,
                                                                  len(true_idx), seed),
                                   len(labels), n_samples=n_samples, confidence=confidence,
                                   seed=seed, labels=list(labels))
            for kind in BASELINES}


def sanity(name: str, confusion: Sequence[Sequence[int]], labels: Sequence[str],
           accuracy: dict[str, float], majority_accuracy: float, *, collapse_share: float = 0.95,
           split: str = "test") -> dict[str, Any]:
    """Does a model predict one class for nearly everything, or fail to beat the majority?

    Parameters
    ----------
    confusion
        Counts, rows true, columns predicted.
    accuracy
        ``{"value", "low", "high"}`` of the model on the same split.
    majority_accuracy
        The majority baseline's accuracy on that split.

    Returns
    -------
    dict
        ``predicted_class`` / ``predicted_share`` (the most predicted class and its
        share of the predictions), ``collapsed``, ``beats_majority`` (the interval's
        low end is above the baseline), ``recalls`` and ``warning`` (None when sane).

    >>> s = sanity("m", [[87, 0], [13, 0]], ["ham", "spam"],
    ...            {"value": 0.87, "low": 0.8, "high": 0.93}, 0.87)
    >>> s["collapsed"], s["beats_majority"]
    (True, False)
    """
    cm = np.asarray(confusion, dtype=float)
    predicted, support = cm.sum(0), cm.sum(1)
    total = cm.sum()
    top = int(predicted.argmax())
    share = float(predicted[top] / total) if total else 0.0
    true_share = float(support[top] / total) if total else 0.0
    collapsed = share >= collapse_share and true_share < collapse_share
    beats = accuracy["low"] > majority_accuracy
    recalls = {lab: (float(cm[i, i] / support[i]) if support[i] else None)
               for i, lab in enumerate(labels)}
    problems = []
    if collapsed:
        others = sorted((r, lab) for lab, r in recalls.items()
                        if r is not None and lab != labels[top])
        missed = ", ".join(f"{lab} {r:.2f}" for r, lab in others[:5]) + \
            (f" and {len(others) - 5} more classes" if len(others) > 5 else "")
        problems.append(f"predicts '{labels[top]}' for {share:.1%} of {split} inputs "
                        f"(recall {missed})")
    if not beats:
        problems.append(f"its {split} accuracy {accuracy['value']:.3f} [{accuracy['low']:.3f}, "
                        f"{accuracy['high']:.3f}] does not beat the majority-class baseline "
                        f"({majority_accuracy:.3f}) beyond its interval")
    return {"split": split, "predicted_class": labels[top], "predicted_share": share,
            "collapsed": bool(collapsed), "majority_accuracy": float(majority_accuracy),
            "beats_majority": bool(beats), "recalls": recalls,
            "warning": f"WARNING: {name} " + "; ".join(problems) if problems else None}
