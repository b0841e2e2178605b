"""Power-law fits of loss against size and compute, and the compute-optimal frontier.

* ``L(N) = (N_c / N) ** alpha_N`` and ``L(C) = (C_c / C) ** alpha_C`` (Kaplan et al.
  2020), fitted by least squares on ``log L`` against ``log N`` (or ``log C``); N is the
  non-embedding parameter count, as in Kaplan et al.
* Compute-optimal training (Hoffmann et al. 2022, "Chinchilla"): about 20 training
  tokens per parameter (total parameters, as Hoffmann et al. count them). With
  ``C = 6 N D`` and ``D = 20 N`` a budget of C FLOPs is best spent on
  ``N = sqrt(C / 120)`` parameters and ``D = 20 N`` tokens.

>>> fit = fit_power_law([1e3, 1e4, 1e5], [8.0, 4.0, 2.0])
>>> round(fit["exponent"], 4), round(fit["r2"], 4)
(0.301, 1.0)
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

TOKENS_PER_PARAM = 20.0  # Hoffmann et al. (2022)


def fit_power_law(x: Sequence[float], y: Sequence[float]) -> dict[str, float]:
    """Fit ``y = (x_c / x) ** exponent`` in log space.

    Returns
    -------
    dict
        ``exponent`` (alpha), ``scale`` (x_c), ``r2`` of the log-log fit, ``points``.
    """
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    if len(lx) < 2 or np.ptp(lx) == 0:
        raise ValueError("a power law needs at least two distinct x values")
    slope, intercept = np.polyfit(lx, ly, 1)
    pred = slope * lx + intercept
    ss_tot = float(np.sum((ly - ly.mean()) ** 2))
    r2 = 1.0 - float(np.sum((ly - pred) ** 2)) / ss_tot if ss_tot > 0 else 1.0
    alpha = -slope
    scale = math.exp(intercept / alpha) if alpha != 0 else float("nan")
    return {"exponent": float(alpha), "scale": float(scale), "r2": r2, "points": len(lx)}


def predict(fit: dict[str, float], x: float) -> float:
    """The fitted law at ``x``."""
    return (fit["scale"] / x) ** fit["exponent"]


def compute_frontier(points: Sequence[dict[str, float]]) -> list[dict[str, float]]:
    """The points no cheaper point beats: lowest loss so far, in order of compute."""
    best, frontier = math.inf, []
    for p in sorted(points, key=lambda p: p["compute_flops"]):
        if p["loss"] < best:
            best = p["loss"]
            frontier.append(p)
    return frontier


def compute_optimality(params: float, tokens: float) -> dict[str, Any]:
    """How a run's tokens per parameter compare with the ~20 of Hoffmann et al. (2022).

    >>> compute_optimality(1e6, 20e6)["verdict"].startswith("about compute-optimal")
    True
    """
    ratio = tokens / params
    compute = 6.0 * params * tokens
    n_opt = math.sqrt(compute / (6.0 * TOKENS_PER_PARAM))
    if ratio < TOKENS_PER_PARAM / 2:
        verdict = (f"not compute-optimal: {ratio:.2g} tokens per parameter, far below ~20; "
                   f"the model is too large for its tokens (the same compute would be best "
                   f"spent on ~{n_opt:.3g} parameters and ~{TOKENS_PER_PARAM * n_opt:.3g} tokens)")
    elif ratio > TOKENS_PER_PARAM * 2:
        verdict = (f"not compute-optimal: {ratio:.3g} tokens per parameter, far above ~20; a "
                   f"larger model (~{n_opt:.3g} parameters) would reach a lower loss with this "
                   f"compute, though a smaller one is cheaper to serve")
    else:
        verdict = f"about compute-optimal: {ratio:.3g} tokens per parameter (~20)"
    return {"tokens_per_param": ratio, "compute_flops_6nd": compute, "optimal_params": n_opt,
            "optimal_tokens": TOKENS_PER_PARAM * n_opt, "verdict": verdict}


def summarise_sweep(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Fits and verdicts of a sweep.

    Parameters
    ----------
    runs
        One dict per model size: ``params_total``, ``params_non_embedding``,
        ``tokens_trained``, ``final_loss`` (dev, nats/token) and ``curve``: a list of
        ``{"compute_flops", "loss"}`` points taken during training.
    """
    out: dict[str, Any] = {
        "loss_vs_params": fit_power_law([r["params_non_embedding"] for r in runs],
                                        [r["final_loss"] for r in runs])}
    frontier = compute_frontier([p for r in runs for p in r["curve"]])
    out["frontier"] = frontier
    if len({p["compute_flops"] for p in frontier}) >= 2:
        out["loss_vs_compute"] = fit_power_law([p["compute_flops"] for p in frontier],
                                               [p["loss"] for p in frontier])
    out["optimality"] = [dict(compute_optimality(r["params_total"], r["tokens_trained"]),
                              width=r.get("width")) for r in runs]
    best = min(runs, key=lambda r: r["final_loss"])
    out["best_width"] = best.get("width")
    return out
