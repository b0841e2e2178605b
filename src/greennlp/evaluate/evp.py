"""Expected validation performance (Dodge et al. 2019, "Show Your Work").

Given N trial scores from random search, the expected best dev score of n trials is the
expected maximum of n draws (with replacement) from the empirical distribution:

    E[max_n] = sum_i v_(i) * ((i/N)^n - ((i-1)/N)^n),   v_(1) <= ... <= v_(N)

and its variance is E[max_n^2] - E[max_n]^2. Against a budget B, n = B / (mean cost of a
trial) in seconds, kWh, kg CO2e or dollars.
"""

from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np


def _weights(n_scores: int, n: int) -> np.ndarray:
    i = np.arange(1, n_scores + 1)
    return (i / n_scores) ** n - ((i - 1) / n_scores) ** n


def expected_max(scores: Sequence[float], n: int) -> tuple[float, float]:
    """Mean and variance of the best of ``n`` trials drawn from ``scores``.

    >>> expected_max([0.5, 0.7], 1)
    (0.6, 0.01)
    >>> round(expected_max([0.5, 0.7], 2)[0], 3)  # 3 of the 4 pairs contain 0.7
    0.65
    """
    v = np.sort(np.asarray(scores, dtype=float))
    if len(v) == 0 or n < 1:
        raise ValueError("need at least one score and n >= 1")
    w = _weights(len(v), n)
    mean = float(np.dot(w, v))
    var = float(np.dot(w, v ** 2) - mean ** 2)
    return round(mean, 12), round(max(var, 0.0), 12)


def expected_max_brute_force(scores: Sequence[float], n: int) -> tuple[float, float]:
    """The same by enumerating all N^n draws; for tests on small inputs only."""
    maxima = np.array([max(combo) for combo in itertools.product(scores, repeat=n)])
    return float(maxima.mean()), float(maxima.var())


def evp_curve(scores: Sequence[float], costs: dict[str, Sequence[float]] | None = None,
              max_trials: int | None = None) -> dict[str, list[float]]:
    """EVP for n = 1 .. max_trials, with the mean budget each n corresponds to.

    Parameters
    ----------
    scores
        Dev scores of the trials (one per trial).
    costs
        Per-trial cost in any units, e.g. ``{"duration_s": [...], "energy_kwh": [...]}``.
    max_trials
        Largest n (default: the number of trials).

    Returns
    -------
    dict
        ``n``, ``mean``, ``std`` and, per cost key, the budget ``n x mean cost``.
    """
    max_trials = max_trials or len(scores)
    ns = list(range(1, max_trials + 1))
    stats = [expected_max(scores, n) for n in ns]
    out: dict[str, list[float]] = {"n": ns, "mean": [m for m, _ in stats],
                                   "std": [float(np.sqrt(v)) for _, v in stats]}
    for key, values in (costs or {}).items():
        values = [v for v in values if v is not None]
        if len(values) == len(scores):
            out[key] = [n * float(np.mean(values)) for n in ns]
    return out
