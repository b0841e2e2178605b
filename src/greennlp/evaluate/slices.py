"""Slices of the test set and group fairness, from true and predicted label indices.

Automatic slices: the true label, text-length quartiles (word counts; edges from the
training texts), the share of words never seen in training, whether a negation is
present, and the language when the data has a language column; plus any named columns (``evaluate.slice_columns``, the group column). Per
slice: size, accuracy, per-class TPR (recall), FPR and PPV (precision), each with a
Wilson score interval (cheap and well behaved for small slices; Wilson 1927), and the
gap to the overall accuracy. The worst slice is the least accurate one with at least
``min_size`` examples.

Fairness over a sensitive column: demographic-parity difference (largest minus smallest
rate of predicting a class, over groups) and equalized-odds difference (the larger of
the TPR and FPR ranges over groups), per class one-vs-rest, as fairlearn defines them
for a binary problem (the tests check against fairlearn).

>>> [round(x, 4) for x in wilson(8, 10)]
[0.8, 0.4902, 0.9433]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import norm

from greennlp.evaluate.metrics import MANY_CLASSES

NEGATION = re.compile(r"\b(?:not|no|never|nothing|nobody|none|neither|nor|without|cannot)\b"
                      r"|n't\b", re.IGNORECASE)
WORD = re.compile(r"[a-z0-9']+")
MIN_SIZE = 20


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float | None, ...]:
    """Proportion and Wilson score interval; (None, None, None) for an empty set."""
    if n == 0:
        return (None, None, None)
    z = float(norm.ppf(0.5 + confidence / 2.0))
    p = successes / n
    den = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z / den * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (float(p), float(max(0.0, centre - half)), float(min(1.0, centre + half)))


def _words(text: str) -> list[str]:
    return WORD.findall(str(text).lower())


def automatic_slices(texts: Sequence[str], train_texts: Sequence[str], labels: Sequence[str],
                     columns: dict[str, Sequence[Any]] | None = None,
                     languages: Sequence[str] | None = None) -> dict[str, list[str]]:
    """Slice family -> the slice of each example (same order as ``texts``); with
    ``languages`` (the data has a language column), the language too."""
    words = [_words(t) for t in texts]
    vocab = {w for t in train_texts for w in _words(t)}
    train_len = np.array([len(_words(t)) for t in train_texts] or [0])
    edges = np.quantile(train_len, [0.25, 0.5, 0.75])
    lengths = np.array([len(w) for w in words])
    quart = np.searchsorted(edges, lengths, side="right")
    names = [f"Q1 (<= {edges[0]:g} words)", f"Q2 (<= {edges[1]:g})", f"Q3 (<= {edges[2]:g})",
             f"Q4 (> {edges[2]:g})"]
    unseen = [sum(x not in vocab for x in w) / len(w) if w else 0.0 for w in words]
    out = {"true label": [str(x) for x in labels],
           "length quartile": [names[q] for q in quart],
           "unseen words": ["none" if u == 0 else "up to 10%" if u <= 0.1 else "over 10%"
                            for u in unseen],
           "negation": ["present" if NEGATION.search(str(t)) else "absent" for t in texts]}
    if languages is not None:
        out["language"] = [str(x) for x in languages]
    for name, values in (columns or {}).items():
        out[name] = [str(v) for v in values]
    return out


def _class_rates(true: np.ndarray, pred: np.ndarray, k: int, confidence: float) -> dict:
    pos, hit = true == k, pred == k
    return {"tpr": wilson(int((pos & hit).sum()), int(pos.sum()), confidence),
            "fpr": wilson(int((~pos & hit).sum()), int((~pos).sum()), confidence),
            "ppv": wilson(int((pos & hit).sum()), int(hit.sum()), confidence)}


def slice_report(true: np.ndarray, pred: np.ndarray, labels: Sequence[str],
                 slices: dict[str, list[str]], *, confidence: float = 0.95,
                 min_size: int = MIN_SIZE, max_per_family: int = 12) -> dict[str, Any]:
    """Per slice: size, accuracy [interval], gap to overall, per-class TPR / FPR / PPV.

    A family with more than ``max_per_family`` values (e.g. a group column with hundreds
    of movies) keeps its largest slices; the others are counted in ``omitted``. With
    more than :data:`~greennlp.evaluate.metrics.MANY_CLASSES` classes, the per-class
    rates are kept for that many classes, the most frequent in ``true`` (``classes``;
    ``classes_omitted`` counts the rest).
    """
    true, pred = np.asarray(true), np.asarray(pred)
    overall = float((true == pred).mean()) if len(true) else None
    support = np.bincount(true, minlength=len(labels)) if len(true) else np.zeros(len(labels))
    kept = sorted(np.argsort(-support, kind="stable")[:MANY_CLASSES].tolist())
    rows, omitted = [], {}
    for family, values in slices.items():
        values = np.asarray(values, dtype=object)
        kinds, counts = np.unique(values, return_counts=True)
        order = np.argsort(-counts, kind="stable")
        omitted[family] = int(max(0, len(kinds) - max_per_family))
        for j in order[:max_per_family]:
            mask = values == kinds[j]
            n = int(mask.sum())
            acc = wilson(int((true[mask] == pred[mask]).sum()), n, confidence)
            rows.append({"family": family, "slice": str(kinds[j]), "n": n,
                         "accuracy": acc, "gap": acc[0] - overall if acc[0] is not None else None,
                         "per_class": {labels[k]: _class_rates(true[mask], pred[mask], k,
                                                               confidence) for k in kept}})
    scored = [r for r in rows if r["n"] >= min_size]
    worst = min(scored, key=lambda r: r["accuracy"][0], default=None)
    return {"overall_accuracy": overall, "rows": rows, "omitted": omitted, "min_size": min_size,
            "classes": [labels[k] for k in kept], "classes_omitted": len(labels) - len(kept),
            "worst": {"family": worst["family"], "slice": worst["slice"], "n": worst["n"],
                      "accuracy": worst["accuracy"][0], "gap": worst["gap"]} if worst else None}


def group_fairness(true: np.ndarray, pred: np.ndarray, groups: Sequence[Any],
                   labels: Sequence[str]) -> dict[str, Any]:
    """Demographic-parity and equalized-odds differences per class (one-vs-rest), and the
    largest of each over classes."""
    true, pred = np.asarray(true), np.asarray(pred)
    groups = np.asarray([str(g) for g in groups], dtype=object)
    per_class = {}
    for k, lab in enumerate(labels):
        sel, tpr, fpr = [], [], []
        for g in np.unique(groups):
            m = groups == g
            pos, hit = true[m] == k, pred[m] == k
            sel.append(hit.mean())
            if pos.any():
                tpr.append((pos & hit).sum() / pos.sum())
            if (~pos).any():
                fpr.append((~pos & hit).sum() / (~pos).sum())
        spread = lambda xs: float(max(xs) - min(xs)) if xs else 0.0
        per_class[lab] = {"demographic_parity_difference": spread(sel),
                          "equalized_odds_difference": max(spread(tpr), spread(fpr))}
    worst = lambda key: max(per_class.items(), key=lambda kv: kv[1][key])
    dp, eo = worst("demographic_parity_difference"), worst("equalized_odds_difference")
    return {"groups": len(np.unique(groups)), "per_class": per_class,
            "demographic_parity_difference": dp[1]["demographic_parity_difference"],
            "demographic_parity_class": dp[0],
            "equalized_odds_difference": eo[1]["equalized_odds_difference"],
            "equalized_odds_class": eo[0]}
