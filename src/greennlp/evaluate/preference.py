"""Scores of preference tuning: the judge's reward, the win rate against the reference and
the KL divergence from it, each with a bootstrap interval; best-of-n; cost at equal work.

Every score is a mean over prompts (one answer per prompt), and its interval is the
percentile bootstrap over prompts. The win rate compares each answer with an independent
reference answer to the same prompt (a tie counts one half). The KL divergence
KL(policy || reference) is the Monte-Carlo mean of ``log policy(y|x) - log ref(y|x)`` over
answers sampled from the policy (sequence level: the sum over the answer's tokens). For
best-of-n no density is available; its KL is the analytical value ``log n - (n - 1) / n``,
an upper bound (Beirami et al. 2024).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

Interval = dict[str, float]


def mean_ci(values: Sequence[float], *, n_samples: int = 1000, confidence: float = 0.95,
            seed: int = 0) -> Interval:
    """The mean and its percentile-bootstrap interval.

    >>> mean_ci([1.0, 1.0, 1.0])
    {'value': 1.0, 'low': 1.0, 'high': 1.0}
    """
    x = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    boot = x[rng.integers(0, len(x), size=(n_samples, len(x)))].mean(1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(boot, [alpha, 1.0 - alpha])
    return {"value": float(x.mean()), "low": float(low), "high": float(high)}


def wins(rewards: Sequence[float], baseline: Sequence[float]) -> np.ndarray:
    """1 where the answer's reward beats the baseline answer's, 0.5 on a tie, else 0.

    >>> wins([0.9, 0.5, 0.1], [0.2, 0.5, 0.3]).tolist()
    [1.0, 0.5, 0.0]
    """
    a, b = np.asarray(rewards, float), np.asarray(baseline, float)
    return (a > b) + 0.5 * (a == b)


def best_of(rewards: np.ndarray, n: int) -> np.ndarray:
    """Per prompt (row), the index of the best of the first ``n`` samples (columns).

    >>> best_of(np.array([[0.1, 0.7, 0.9], [0.5, 0.2, 0.8]]), 2).tolist()
    [1, 0]
    """
    return np.asarray(rewards)[:, :n].argmax(1)


def best_of_n_kl(n: int) -> float:
    """``log n - (n - 1) / n`` nats: the KL of best-of-n sampling from its base (an upper
    bound, exact when all the base's answers are distinct).

    >>> round(best_of_n_kl(4), 4)
    0.6363
    """
    return math.log(n) - (n - 1) / n


def preference_scores(rewards: Sequence[float], baseline: Sequence[float],
                      log_ratios: Sequence[float] | None, *, n_samples: int, confidence: float,
                      seed: int) -> dict[str, Interval]:
    """Win rate against ``baseline`` (first: it selects), mean reward and (with per-answer
    ``log_ratios``) the KL divergence, each with its interval; without log-ratios there is
    no ``kl`` entry."""
    kw = {"n_samples": n_samples, "confidence": confidence, "seed": seed}
    out = {"win_rate": mean_ci(wins(rewards, baseline), **kw), "reward": mean_ci(rewards, **kw)}
    if log_ratios is not None:
        out["kl"] = mean_ci(log_ratios, **kw)
    return out


COST_KEYS = ("energy_kwh", "co2_kg", "cost_usd")


def per_million(fixed: dict[str, float | None], per_answer: dict[str, float | None],
                answers: float = 1e6) -> dict[str, float | None]:
    """Fixed cost plus ``answers`` times the cost of one answer, per unit.

    >>> per_million({"energy_kwh": 1.0}, {"energy_kwh": 2e-6})["energy_kwh"]
    3.0
    """
    out = {}
    for key in COST_KEYS:
        f, a = fixed.get(key), per_answer.get(key)
        out[key] = None if f is None or a is None else f + answers * a
    return out


def break_even(fixed_a: float | None, per_a: float | None, fixed_b: float | None,
               per_b: float | None) -> float | None:
    """Answers after which method a (more fixed cost, cheaper answers) costs less in total
    than method b; None when a never catches up (or a number is unknown).

    >>> break_even(10.0, 1.0, 0.0, 3.0)
    5.0
    """
    if None in (fixed_a, per_a, fixed_b, per_b) or per_b <= per_a:
        return None
    return max(0.0, (fixed_a - fixed_b) / (per_b - per_a))


def cost_rows(methods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per method: its fixed and per-answer costs, the total for 1M answers, and the
    answers after which it is cheaper than each method with cheaper fixed costs.

    ``methods``: ``{"name", "fixed": {unit: value}, "per_answer": {unit: value}, ...}``;
    other keys are carried along.
    """
    rows = []
    for m in methods:
        row = dict(m, per_million=per_million(m["fixed"], m["per_answer"]), break_even={})
        for other in methods:
            if other is m:
                continue
            mine, theirs = m["fixed"].get("energy_kwh"), other["fixed"].get("energy_kwh")
            n = break_even(mine, m["per_answer"].get("energy_kwh"), theirs,
                           other["per_answer"].get("energy_kwh"))
            if n is not None and mine > theirs:
                row["break_even"][other["name"]] = n
        rows.append(row)
    return rows
