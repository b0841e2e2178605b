"""Selective prediction: answer only when confident enough, abstain otherwise.

Examples are ranked by confidence (top probability, ties kept in input order). At
coverage k/n the model answers the k most confident; the risk is their error rate.
AURC (Geifman & El-Yaniv 2017) is the mean risk over k = 1..n, the area under the
risk-coverage curve. The threshold that reaches a target accuracy is chosen on dev (the
lowest confidence whose answered dev examples are at least that accurate, i.e. the
largest such coverage) and applied once on test.

>>> round(risk_coverage(np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 1, 0, 1]))["aurc"], 6)
0.145833
"""

from __future__ import annotations

from typing import Any

import numpy as np

COVERAGES = (0.5, 0.8, 0.9)


def _ranked(conf: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-np.asarray(conf, dtype=np.float64), kind="stable")
    return np.asarray(conf, float)[order], np.asarray(correct, float)[order]


def risk_coverage(conf: np.ndarray, correct: np.ndarray, points: int = 50) -> dict[str, Any]:
    """AURC, accuracy at 50/80/90% coverage, and the curve (``points`` coverages)."""
    _, hits = _ranked(conf, correct)
    n = len(hits)
    k = np.arange(1, n + 1)
    risk = 1.0 - np.cumsum(hits) / k
    at = {f"accuracy_at_{int(100 * c)}": float(1.0 - risk[max(1, int(np.ceil(c * n))) - 1])
          for c in COVERAGES}
    grid = np.unique(np.linspace(1, n, min(points, n)).round().astype(int))
    return {"aurc": float(risk.mean()), **at,
            "curve": [{"coverage": float(g / n), "risk": float(risk[g - 1])} for g in grid]}


def threshold_for(conf: np.ndarray, correct: np.ndarray, target: float) -> float | None:
    """The lowest confidence at which the answered examples are at least ``target``
    accurate (None when no coverage reaches it)."""
    c, hits = _ranked(conf, correct)
    acc = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    # only cut between distinct confidences: all examples at a threshold are answered
    last_of_value = np.append(c[1:] != c[:-1], True)
    ok = np.flatnonzero((acc >= target) & last_of_value)
    return float(c[ok[-1]]) if len(ok) else None


def apply_threshold(conf: np.ndarray, correct: np.ndarray, threshold: float | None
                    ) -> dict[str, float | None]:
    """Coverage and accuracy of the examples with confidence >= ``threshold``."""
    if threshold is None:
        return {"coverage": 0.0, "accuracy": None}
    keep = np.asarray(conf) >= threshold
    return {"coverage": float(keep.mean()),
            "accuracy": float(np.asarray(correct)[keep].mean()) if keep.any() else None}


def selective_report(dev_proba: np.ndarray | None, dev_true: np.ndarray | None,
                     test_proba: np.ndarray, test_true: np.ndarray, target: float = 0.9
                     ) -> dict[str, Any]:
    """Test risk-coverage and AURC; the dev threshold for ``target`` accuracy, on test."""
    conf, correct = test_proba.max(1), test_proba.argmax(1) == test_true
    out: dict[str, Any] = {**risk_coverage(conf, correct), "target_accuracy": target}
    if dev_proba is not None and dev_true is not None and len(dev_true):
        t = threshold_for(dev_proba.max(1), dev_proba.argmax(1) == dev_true, target)
        dev = apply_threshold(dev_proba.max(1), dev_proba.argmax(1) == dev_true, t)
        out.update(threshold=t, dev_coverage=dev["coverage"],
                   **{f"test_{k}": v for k, v in apply_threshold(conf, correct, t).items()})
    return out
