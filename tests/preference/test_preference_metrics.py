"""The scores of preference tuning: intervals, win rates, best-of-n and its KL, costs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from greennlp.evaluate.preference import (best_of, best_of_n_kl, break_even, cost_rows, mean_ci,
                                          preference_scores, wins)


def test_mean_ci_covers_the_mean_and_narrows_with_more_prompts():
    rng = np.random.default_rng(0)
    small, large = rng.normal(0.5, 0.2, 40), rng.normal(0.5, 0.2, 4000)
    a, b = mean_ci(small, seed=1), mean_ci(large, seed=1)
    assert a["low"] < a["value"] < a["high"] and b["low"] < 0.5 < b["high"]
    assert (b["high"] - b["low"]) < (a["high"] - a["low"]) / 5
    assert mean_ci(small, seed=1) == a  # seeded


def test_win_rate_counts_ties_as_half_and_is_paired_by_prompt():
    scores = preference_scores([0.9, 0.2, 0.5, 0.7], [0.1, 0.8, 0.5, 0.6], None,
                               n_samples=200, confidence=0.95, seed=0)
    assert scores["win_rate"]["value"] == pytest.approx((1 + 0 + 0.5 + 1) / 4)
    assert scores["reward"]["value"] == pytest.approx(np.mean([0.9, 0.2, 0.5, 0.7]))
    assert "kl" not in scores
    assert wins([0.3], [0.3]).tolist() == [0.5]


def test_best_of_n_kl_matches_the_exact_kl_when_answers_are_distinct():
    """With m equally likely distinct answers, best-of-n picks the one of rank k with
    probability (k^n - (k-1)^n) / m^n; its exact KL from uniform tends to the bound."""
    m, n = 2000, 4
    k = np.arange(1, m + 1)
    p = (k ** n - (k - 1.0) ** n) / m ** n
    exact = float(np.sum(p * np.log(p * m)))
    assert exact == pytest.approx(best_of_n_kl(n), abs=2e-3)
    assert exact <= best_of_n_kl(n) + 1e-9
    assert best_of_n_kl(1) == 0.0 and best_of_n_kl(16) == pytest.approx(math.log(16) - 15 / 16)


def test_best_of_picks_among_the_first_n_samples_only():
    rewards = np.array([[0.1, 0.2, 0.9], [0.8, 0.1, 0.95]])
    assert best_of(rewards, 2).tolist() == [1, 0] and best_of(rewards, 3).tolist() == [2, 2]


def test_break_even_and_the_cost_of_a_million_answers():
    dpo = {"name": "dpo", "fixed": {"energy_kwh": 0.01, "co2_kg": 0.004, "cost_usd": 0.02},
           "per_answer": {"energy_kwh": 1e-7, "co2_kg": 4e-8, "cost_usd": 2e-7}}
    bo4 = {"name": "bo4", "fixed": {"energy_kwh": 0.001, "co2_kg": 4e-4, "cost_usd": 0.002},
           "per_answer": {"energy_kwh": 5e-7, "co2_kg": 2e-7, "cost_usd": 1e-6}}
    rows = {r["name"]: r for r in cost_rows([dpo, bo4])}
    n = rows["dpo"]["break_even"]["bo4"]
    assert n == pytest.approx((0.01 - 0.001) / (5e-7 - 1e-7))
    assert 0.01 + n * 1e-7 == pytest.approx(0.001 + n * 5e-7)  # equal totals there
    assert rows["dpo"]["per_million"]["energy_kwh"] == pytest.approx(0.01 + 0.1)
    assert rows["bo4"]["break_even"] == {}  # never cheaper in total than DPO after that
    assert break_even(1.0, 2.0, 0.0, 1.0) is None  # dearer answers never catch up
    assert break_even(None, 1.0, 0.0, 2.0) is None
