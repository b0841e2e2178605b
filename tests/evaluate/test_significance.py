import numpy as np
import pytest
from scipy import stats

from greennlp.evaluate.significance import compare_predictions, mcnemar, paired_bootstrap


def test_mcnemar_large_sample_uses_the_corrected_chi_square():
    a = np.array([1] * 40 + [0] * 20 + [1] * 100)
    b = np.array([0] * 40 + [1] * 20 + [1] * 100)
    r = mcnemar(a, b)
    assert (r["b"], r["c"]) == (40, 20)
    assert r["statistic"] == pytest.approx((20 - 1) ** 2 / 60)
    assert r["p_value"] == pytest.approx(stats.chi2.sf(19 ** 2 / 60, 1))
    assert r["odds_ratio"] == 2.0


def test_mcnemar_small_sample_is_exact():
    a = np.array([1] * 8 + [0] * 2)
    b = np.array([0] * 8 + [1] * 2)
    r = mcnemar(a, b)
    assert r["method"] == "exact binomial"
    assert r["p_value"] == pytest.approx(stats.binomtest(8, 10, 0.5).pvalue)


def test_identical_models_are_not_different():
    ok = np.random.default_rng(0).random(300) < 0.7
    r = paired_bootstrap(ok, ok)
    assert r["difference"] == 0 and r["p_value"] == 1.0 and r["low"] == r["high"] == 0
    assert mcnemar(ok, ok)["p_value"] == 1.0


def test_a_clearly_better_model_is_detected_and_the_interval_covers_the_difference():
    rng = np.random.default_rng(1)
    true = rng.integers(0, 2, 2000)
    good = np.where(rng.random(2000) < 0.85, true, 1 - true)
    bad = np.where(rng.random(2000) < 0.75, true, 1 - true)
    r = compare_predictions(true, good, bad, n_samples=1000)
    diff = r["accuracy_a"] - r["accuracy_b"]
    assert r["bootstrap"]["difference"] == pytest.approx(diff)
    assert r["bootstrap"]["low"] < diff < r["bootstrap"]["high"]
    assert r["bootstrap"]["p_value"] < 0.01 and r["mcnemar"]["p_value"] < 0.01


def test_under_the_null_false_positives_are_rare():
    """Two models of equal skill: p < 0.05 should happen in about 5% of test sets."""
    rng = np.random.default_rng(2)
    hits = {"bootstrap": 0, "mcnemar": 0}
    for _ in range(60):
        true = rng.integers(0, 2, 500)
        a = np.where(rng.random(500) < 0.8, true, 1 - true)
        b = np.where(rng.random(500) < 0.8, true, 1 - true)
        r = compare_predictions(true, a, b, n_samples=500, seed=int(rng.integers(1000)))
        hits["bootstrap"] += r["bootstrap"]["p_value"] < 0.05
        hits["mcnemar"] += r["mcnemar"]["p_value"] < 0.05
    assert hits["bootstrap"] <= 9 and hits["mcnemar"] <= 9  # 5% of 60 = 3; binomial slack
