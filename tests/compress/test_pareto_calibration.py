import numpy as np
import pytest
from scipy.special import softmax

from greennlp.compress.calibration import (calibration_report, expected_calibration_error,
                                           fit_temperature, negative_log_likelihood)
from greennlp.evaluate.pareto import pareto_front


def test_pareto_front_marks_only_non_dominated_points():
    acc = [0.70, 0.80, 0.80, 0.75, 0.90]
    cost = [1.0, 2.0, 3.0, 2.5, None]
    assert pareto_front(acc, cost) == [True, True, False, False, False]


def test_pareto_front_keeps_ties_on_both_axes():
    assert pareto_front([0.8, 0.8], [1.0, 1.0]) == [True, True]


def overconfident(n=2000, seed=0):
    """Logits whose argmax is right 75% of the time but that claim ~99% confidence."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    pred = np.where(rng.random(n) < 0.75, labels, (labels + 1) % 3)
    logits = rng.normal(0, 0.3, (n, 3))
    logits[np.arange(n), pred] += 6.0
    return logits, labels


def test_temperature_scaling_lowers_nll_and_ece_and_keeps_argmax():
    logits, labels = overconfident()
    t = fit_temperature(logits, labels)
    assert t > 1.5  # overconfident logits need flattening
    report = calibration_report(logits, labels, t)
    assert report["nll_after"] < report["nll_before"]
    assert report["ece_after"] < report["ece_before"] / 3
    assert np.array_equal(softmax(logits / t, -1).argmax(1), logits.argmax(1))


def test_temperature_is_the_nll_minimum():
    logits, labels = overconfident(seed=1)
    t = fit_temperature(logits, labels)
    nll = negative_log_likelihood(logits, labels, t)
    for other in (0.9 * t, 1.1 * t):
        assert nll <= negative_log_likelihood(logits, labels, other) + 1e-9


def test_ece_by_hand():
    proba = np.array([[0.95, 0.05], [0.6, 0.4], [0.3, 0.7], [0.2, 0.8]])
    labels = np.array([0, 1, 1, 1])
    # bins (10): 0.95 -> bin 9 (right), 0.6 -> bin 5 (wrong), 0.7 -> bin 6, 0.8 -> bin 7 (right)
    expected = (abs(0.95 - 1) + abs(0.6 - 0) + abs(0.7 - 1) + abs(0.8 - 1)) / 4
    assert expected_calibration_error(proba, labels, n_bins=10) == pytest.approx(expected)
