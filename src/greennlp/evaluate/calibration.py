"""Calibration of predicted probabilities: ECE, MCE, Brier, NLL, temperature scaling.

Confidence is the top probability; an example is correct when its top class is the true
one. ECE (Naeini et al. 2015; Guo et al. 2017) is the share-weighted mean gap between
accuracy and confidence over bins; MCE the largest gap. Equal-width bins follow
torchmetrics (``[b_k, b_k+1)`` over ``linspace(0, 1, bins + 1)``, a confidence of exactly
1 in a bin of its own), and the tests check ours against it; equal-mass bins are cut at
the confidence quantiles (equal counts, except that tied confidences share a bin). Brier
is the multi-class form ``mean_i sum_k (p_ik - y_ik)^2``; NLL is ``mean_i -log p_i,true``.

Intervals: the test examples are resampled (percentile bootstrap) with the bins kept as
drawn on the full set, so one matrix product scores every resample at once.
Temperature scaling (Guo et al. 2017) divides log-probabilities by one T fitted on dev.

>>> p = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
>>> round(scores(p, np.array([0, 1, 1, 0]), bins=5)["ece"], 6)
0.35
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

EPS = 1e-12


def _bins(conf: np.ndarray, bins: int, strategy: str) -> np.ndarray:
    """The bin of each example: equal width (as torchmetrics) or equal mass."""
    if strategy == "width":
        edges = np.linspace(0.0, 1.0, bins + 1)
        return np.searchsorted(edges, conf, side="right") - 1  # 1.0 gets bin ``bins``
    inner = np.quantile(conf, np.linspace(0.0, 1.0, bins + 1)[1:-1])  # ties share a bin
    return np.searchsorted(inner, conf, side="right")


def _per_example(proba: np.ndarray, true: np.ndarray) -> dict[str, np.ndarray]:
    proba = np.asarray(proba, dtype=np.float64)
    true = np.asarray(true, dtype=np.int64)
    onehot = np.eye(proba.shape[1])[true]
    return {"conf": proba.max(1), "correct": (proba.argmax(1) == true).astype(np.float64),
            "brier": ((proba - onehot) ** 2).sum(1),
            "nll": -np.log(np.clip(proba[np.arange(len(true)), true], EPS, None))}


def _weighted_all(ex: dict[str, np.ndarray], weights: np.ndarray, bins: int
                  ) -> dict[str, np.ndarray]:
    """Every score under example weights (rows of ``weights``: 1s, or bootstrap counts),
    from one matrix product: per-bin counts, hits and confidence sums of both binnings."""
    n_ex, width = len(ex["conf"]), bins + 1
    parts = []
    for strategy in ("width", "mass"):
        onehot = np.zeros((n_ex, width))
        onehot[np.arange(n_ex), _bins(ex["conf"], bins, strategy)] = 1.0
        parts += [onehot, onehot * ex["correct"][:, None], onehot * ex["conf"][:, None]]
    sums = weights @ np.hstack(parts + [ex["brier"][:, None], ex["nll"][:, None]])
    n = weights.sum(1)
    out = {"brier": sums[:, -2] / n, "nll": sums[:, -1] / n}
    for k, strategy in enumerate(("width", "mass")):
        count, hits, conf = (sums[:, (3 * k + j) * width:(3 * k + j + 1) * width]
                             for j in range(3))
        gap = np.abs(hits - conf)
        out[f"ece_{strategy}"] = gap.sum(1) / n
        out[f"mce_{strategy}"] = np.divide(gap, count, out=np.zeros_like(gap),
                                           where=count > 0).max(1)
    return out


def scores(proba: np.ndarray, true: np.ndarray, bins: int = 15) -> dict[str, float]:
    """ECE (equal-width and equal-mass bins), MCE (equal width), Brier and NLL."""
    ex = _per_example(proba, true)
    s = _weighted_all(ex, np.ones((1, len(ex["conf"]))), bins)
    return {"ece": float(s["ece_width"][0]), "ece_equal_mass": float(s["ece_mass"][0]),
            "mce": float(s["mce_width"][0]), "brier": float(s["brier"][0]),
            "nll": float(s["nll"][0]), "accuracy": float(ex["correct"].mean()),
            "mean_confidence": float(ex["conf"].mean())}


def scores_with_ci(proba: np.ndarray, true: np.ndarray, bins: int = 15, *, n_samples: int = 1000,
                   confidence: float = 0.95, seed: int = 0) -> dict[str, dict[str, float]]:
    """:func:`scores` with percentile bootstrap intervals: ``{name: {value, low, high}}``."""
    point = scores(proba, true, bins)
    ex = _per_example(proba, true)
    n = len(ex["conf"])
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(n_samples, n)) + (np.arange(n_samples) * n)[:, None]
    weights = np.bincount(draws.ravel(), minlength=n_samples * n).reshape(n_samples, n)
    weights = weights.astype(np.float64)
    s = _weighted_all(ex, weights, bins)
    boot = {"ece": s["ece_width"], "ece_equal_mass": s["ece_mass"], "mce": s["mce_width"],
            "brier": s["brier"], "nll": s["nll"]}
    alpha = (1.0 - confidence) / 2.0
    out = {}
    for key, values in boot.items():
        lo, hi = np.quantile(values, [alpha, 1.0 - alpha])
        out[key] = {"value": point[key], "low": float(lo), "high": float(hi)}
    return out


def reliability(proba: np.ndarray, true: np.ndarray, bins: int = 15) -> list[dict[str, float]]:
    """Equal-width bins for a reliability diagram: range, count, accuracy, mean confidence."""
    ex = _per_example(proba, true)
    idx = np.minimum(_bins(ex["conf"], bins, "width"), bins - 1)  # 1.0 drawn in the top bin
    rows = []
    for b in range(bins):
        hit = idx == b
        if hit.any():
            rows.append({"low": b / bins, "high": (b + 1) / bins, "count": int(hit.sum()),
                         "accuracy": float(ex["correct"][hit].mean()),
                         "confidence": float(ex["conf"][hit].mean())})
    return rows


def with_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log p / T)``: probabilities sharpened (T < 1) or softened (T > 1)."""
    logits = np.log(np.clip(np.asarray(proba, dtype=np.float64), EPS, None)) / temperature
    logits -= logits.max(1, keepdims=True)
    out = np.exp(logits)
    return out / out.sum(1, keepdims=True)


def fit_temperature(proba: np.ndarray, true: np.ndarray) -> float:
    """The T in [0.05, 20] that minimises the NLL of ``with_temperature(proba, T)``."""
    true = np.asarray(true, dtype=np.int64)

    def nll(log_t: float) -> float:
        p = with_temperature(proba, float(np.exp(log_t)))
        return float(-np.log(np.clip(p[np.arange(len(true)), true], EPS, None)).mean())
    res = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded",
                          options={"xatol": 1e-6})
    return float(np.exp(res.x))


def calibration_report(dev_proba: np.ndarray | None, dev_true: np.ndarray | None,
                       test_proba: np.ndarray, test_true: np.ndarray, *, bins: int = 15,
                       n_samples: int = 1000, confidence: float = 0.95, seed: int = 0
                       ) -> dict[str, Any]:
    """Test calibration before and after a temperature fitted on dev, and the diagram."""
    out: dict[str, Any] = {
        "bins": bins, "test": scores_with_ci(test_proba, test_true, bins, n_samples=n_samples,
                                             confidence=confidence, seed=seed),
        "reliability": reliability(test_proba, test_true, bins)}
    if dev_proba is not None and dev_true is not None and len(dev_true):
        t = fit_temperature(dev_proba, dev_true)
        scaled = with_temperature(test_proba, t)
        out.update(temperature=t,
                   test_scaled=scores_with_ci(scaled, test_true, bins, n_samples=n_samples,
                                              confidence=confidence, seed=seed),
                   reliability_scaled=reliability(scaled, test_true, bins))
    return out
