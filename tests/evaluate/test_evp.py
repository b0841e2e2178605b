import numpy as np
import pytest

from greennlp.evaluate.evp import evp_curve, expected_max, expected_max_brute_force


@pytest.mark.parametrize("scores", [[0.7], [0.6, 0.8], [0.5, 0.5, 0.9], [0.71, 0.64, 0.80, 0.77, 0.64]])
def test_closed_form_equals_brute_force(scores):
    for n in range(1, 5):
        mean, var = expected_max(scores, n)
        bf_mean, bf_var = expected_max_brute_force(scores, n)
        assert mean == pytest.approx(bf_mean) and var == pytest.approx(bf_var, abs=1e-12)


def test_properties_of_the_curve():
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.6, 0.8, 20)
    curve = evp_curve(scores, {"duration_s": [2.0] * 20, "energy_kwh": [None] * 20}, max_trials=50)
    assert curve["mean"][0] == pytest.approx(scores.mean())
    assert all(b >= a for a, b in zip(curve["mean"], curve["mean"][1:]))
    assert curve["mean"][-1] <= scores.max() and curve["mean"][-1] > np.quantile(scores, 0.9)
    assert curve["duration_s"][:3] == [2.0, 4.0, 6.0]
    assert "energy_kwh" not in curve  # unknown costs give no budget axis
    assert curve["std"][0] == pytest.approx(scores.std())


def test_uniform_scores_match_the_order_statistic_formula():
    """For N evenly spaced scores the expected max approaches n/(n+1) of the range."""
    scores = np.linspace(0, 1, 2001)
    for n in (1, 2, 5):
        assert expected_max(scores, n)[0] == pytest.approx(n / (n + 1), abs=1e-3)
