"""Paired significance tests for two classifiers scored on the same test examples.

* McNemar's test on the discordant pairs (b: only A right, c: only B right): exact
  binomial when b + c < 25, else chi-square with continuity correction (Edwards 1948).
* Paired bootstrap (Berg-Kirkpatrick et al. 2012; Koehn 2004): resample test examples,
  recompute the accuracy difference; the two-sided p-value is the share of resampled
  differences at least as far from the observed one as the observed one is from zero
  (the bootstrap distribution shifted to the null of no difference).

Effect size: the accuracy difference A - B with its paired bootstrap interval, and the
odds ratio b / c of the discordant pairs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> dict[str, Any]:
    """McNemar's test; ``correct_*`` are boolean arrays over the same examples.

    >>> r = mcnemar(np.array([1, 1, 1, 0, 1]), np.array([0, 1, 0, 0, 1]))
    >>> r["b"], r["c"], r["method"], r["p_value"]
    (2, 0, 'exact binomial', 0.5)
    """
    a, b_arr = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    b = int(np.sum(a & ~b_arr))
    c = int(np.sum(~a & b_arr))
    if b + c == 0:
        return {"b": 0, "c": 0, "statistic": 0.0, "p_value": 1.0, "method": "no discordant pairs",
                "odds_ratio": None}
    if b + c < 25:
        p = stats.binomtest(b, b + c, 0.5).pvalue
        stat, method = float(min(b, c)), "exact binomial"
    else:
        stat = (abs(b - c) - 1) ** 2 / (b + c)
        p, method = float(stats.chi2.sf(stat, df=1)), "chi-square, continuity corrected"
    return {"b": b, "c": c, "statistic": float(stat), "p_value": float(min(1.0, p)),
            "method": method, "odds_ratio": (b / c) if c else None}


def paired_bootstrap(correct_a: np.ndarray, correct_b: np.ndarray, *, n_samples: int = 2000,
                     confidence: float = 0.95, seed: int = 0) -> dict[str, float]:
    """Accuracy difference A - B with its paired bootstrap CI and two-sided p-value."""
    diff = np.asarray(correct_a, float) - np.asarray(correct_b, float)
    observed = float(diff.mean())
    rng = np.random.default_rng(seed)
    deltas = np.empty(n_samples)
    for start in range(0, n_samples, 500):  # chunks keep memory flat on large test sets
        count = min(500, n_samples - start)
        idx = rng.integers(0, len(diff), size=(count, len(diff)))
        deltas[start:start + count] = diff[idx].mean(1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(deltas, [alpha, 1 - alpha])
    p = float(np.mean(np.abs(deltas - observed) >= abs(observed))) if observed else 1.0
    return {"difference": observed, "low": float(low), "high": float(high), "p_value": p,
            "n_samples": n_samples}


def compare_predictions(true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, *,
                        n_samples: int = 2000, confidence: float = 0.95, seed: int = 0
                        ) -> dict[str, Any]:
    """Both tests, plus each model's accuracy, for predictions of the same examples."""
    true, pred_a, pred_b = map(np.asarray, (true, pred_a, pred_b))
    if not (len(true) == len(pred_a) == len(pred_b)):
        raise ValueError("predictions must cover the same examples")
    ok_a, ok_b = pred_a == true, pred_b == true
    return {"n": int(len(true)), "accuracy_a": float(ok_a.mean()), "accuracy_b": float(ok_b.mean()),
            "mcnemar": mcnemar(ok_a, ok_b),
            "bootstrap": paired_bootstrap(ok_a, ok_b, n_samples=n_samples, confidence=confidence,
                                          seed=seed)}
