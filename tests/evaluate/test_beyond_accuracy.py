"""Calibration, selective prediction, slices, fairness and robustness: against independent
references (torchmetrics, scikit-learn, scipy, fairlearn) and on synthetic predictions whose
answers are known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from greennlp.evaluate import calibration, robustness, selective, slices


def _random_proba(n: int, k: int, seed: int = 0, scale: float = 2.0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k)) * scale
    p = np.exp(z - z.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True), rng.integers(0, k, n)


# -- calibration -----------------------------------------------------------------------------
@pytest.mark.parametrize("k", [2, 3, 5])
def test_ece_and_mce_match_torchmetrics_to_1e9(k):
    import torch
    from torchmetrics.functional.classification import multiclass_calibration_error
    from torchmetrics.functional.classification.calibration_error import _ce_compute

    p, y = _random_proba(3000, k, seed=k)
    ours = calibration.scores(p, y, bins=15)
    conf = torch.tensor(p.max(1), dtype=torch.float64)
    acc = torch.tensor((p.argmax(1) == y).astype(float), dtype=torch.float64)
    assert ours["ece"] == pytest.approx(_ce_compute(conf, acc, 15, norm="l1").item(), abs=1e-9)
    assert ours["mce"] == pytest.approx(_ce_compute(conf, acc, 15, norm="max").item(), abs=1e-9)
    # the public API works in float32: the same number up to float32 rounding
    public = multiclass_calibration_error(torch.tensor(p), torch.tensor(y), num_classes=k,
                                          n_bins=15, norm="l1").item()
    assert ours["ece"] == pytest.approx(public, abs=1e-6)


def test_brier_and_nll_match_scikit_learn_to_1e9():
    from sklearn.metrics import brier_score_loss, log_loss

    p, y = _random_proba(2000, 2, seed=3)
    ours = calibration.scores(p, y)
    # scikit-learn's binary Brier is on the positive class: the two-class sum is twice it
    assert ours["brier"] == pytest.approx(2 * brier_score_loss(y, p[:, 1]), abs=1e-9)
    assert ours["nll"] == pytest.approx(log_loss(y, p, labels=[0, 1]), abs=1e-9)
    p3, y3 = _random_proba(2000, 4, seed=4)
    assert calibration.scores(p3, y3)["nll"] == pytest.approx(log_loss(y3, p3, labels=range(4)),
                                                              abs=1e-9)


def test_calibration_known_by_construction():
    # 1,000 examples at confidence 0.8, of which exactly 800 right: perfectly calibrated
    n = 1000
    p = np.tile([0.8, 0.2], (n, 1))
    y = np.where(np.arange(n) < 800, 0, 1)
    s = calibration.scores(p, y)
    assert s["ece"] == pytest.approx(0.0, abs=1e-12)
    assert s["ece_equal_mass"] == pytest.approx(0.0, abs=1e-12)
    # the same confidence with 600 right: over-confident by exactly 0.2
    y = np.where(np.arange(n) < 600, 0, 1)
    s = calibration.scores(p, y)
    assert s["ece"] == pytest.approx(0.2) and s["mce"] == pytest.approx(0.2)
    assert s["brier"] == pytest.approx(0.6 * 2 * 0.2 ** 2 + 0.4 * 2 * 0.8 ** 2)
    ci = calibration.scores_with_ci(p, y, n_samples=300)
    assert ci["ece"]["low"] <= 0.2 <= ci["ece"]["high"]


def test_temperature_recovers_a_known_overconfidence():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(6000, 3))
    true_p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in true_p])
    sharp = np.exp(3 * z) / np.exp(3 * z).sum(1, keepdims=True)  # logits x3: over-confident
    t = calibration.fit_temperature(sharp[:3000], y[:3000])
    assert t == pytest.approx(3.0, rel=0.1)
    report = calibration.calibration_report(sharp[:3000], y[:3000], sharp[3000:], y[3000:],
                                            n_samples=200)
    assert report["test_scaled"]["ece"]["value"] < report["test"]["ece"]["value"] / 2


# -- selective prediction --------------------------------------------------------------------
def test_risk_coverage_and_aurc_by_hand():
    conf = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.55])
    correct = np.array([1, 1, 1, 0, 1, 0])
    rc = selective.risk_coverage(conf, correct)
    risks = [0, 0, 0, 1 / 4, 1 / 5, 2 / 6]
    assert rc["aurc"] == pytest.approx(np.mean(risks))
    assert rc["accuracy_at_50"] == 1.0
    assert rc["accuracy_at_90"] == pytest.approx(4 / 6)  # ceil(0.9 * 6) = 6 answered


def test_threshold_is_chosen_on_dev_and_applied_to_test():
    dev_conf = np.array([0.9, 0.8, 0.7, 0.6])
    dev_ok = np.array([1, 1, 0, 0])
    t = selective.threshold_for(dev_conf, dev_ok, 1.0)
    assert t == 0.8
    test = selective.apply_threshold(np.array([0.85, 0.75, 0.95, 0.5]), np.array([1, 1, 0, 1]), t)
    assert test == {"coverage": 0.5, "accuracy": 0.5}
    assert selective.threshold_for(dev_conf, np.zeros(4), 0.9) is None


# -- slices and fairness ---------------------------------------------------------------------
def test_wilson_matches_scipy():
    from scipy.stats import binomtest

    for k, n in [(0, 5), (3, 10), (47, 50), (120, 400)]:
        ci = binomtest(k, n).proportion_ci(0.95, method="wilson")
        _, low, high = slices.wilson(k, n)
        assert low == pytest.approx(ci.low, abs=1e-6) and high == pytest.approx(ci.high, abs=1e-6)
    assert slices.wilson(0, 0) == (None, None, None)


def test_slice_gaps_known_by_construction():
    # slice "a": 100 examples all right; slice "b": 100 examples, half right
    true = np.zeros(200, dtype=int)
    pred = np.r_[np.zeros(100), np.tile([0, 1], 50)].astype(int)
    groups = ["a"] * 100 + ["b"] * 100
    rep = slices.slice_report(true, pred, ["x", "y"], {"g": groups})
    rows = {r["slice"]: r for r in rep["rows"]}
    assert rep["overall_accuracy"] == 0.75
    assert rows["a"]["gap"] == pytest.approx(0.25) and rows["b"]["gap"] == pytest.approx(-0.25)
    assert rep["worst"]["slice"] == "b" and rep["worst"]["accuracy"] == 0.5
    assert rows["b"]["per_class"]["x"]["tpr"][0] == 0.5
    assert rows["b"]["per_class"]["x"]["ppv"][0] == 1.0
    assert rows["b"]["per_class"]["x"]["fpr"][0] is None  # no negatives: none, not 0


def test_automatic_slices():
    texts = ["it is not good", "great fun", "it is good it is good it is good great new"]
    s = slices.automatic_slices(texts, ["it is good", "great fun", "a b c d"], ["n", "p", "n"],
                                {"genre": ["x", "y", "x"]})
    assert s["negation"] == ["present", "absent", "absent"]
    assert s["unseen words"] == ["over 10%", "none", "up to 10%"]  # 1/4, 0, 1/10
    assert s["genre"] == ["x", "y", "x"] and s["true label"] == ["n", "p", "n"]
    assert set(s) == {"true label", "length quartile", "unseen words", "negation", "genre"}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fairness_matches_fairlearn(seed):
    from fairlearn.metrics import (
        demographic_parity_difference,
        equalized_odds_difference,
    )

    rng = np.random.default_rng(seed)
    y, p = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    p[:100] = 1  # make group "a" predict the positive class more often
    g = np.where(np.arange(500) < 150, "a", rng.choice(["b", "c"], 500))
    ours = slices.group_fairness(y, p, g, ["neg", "pos"])["per_class"]["pos"]
    assert ours["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(y, p, sensitive_features=g), abs=1e-12)
    assert ours["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(y, p, sensitive_features=g), abs=1e-12)


# -- robustness ------------------------------------------------------------------------------
def test_perturbations_are_seeded_and_deterministic():
    texts = ["The plot is thin, but it's fun.", "Never boring!"] * 3
    for kind in robustness.PERTURBATIONS:
        assert robustness.perturb(texts, kind, 0.2, 7) == robustness.perturb(texts, kind, 0.2, 7)
    assert robustness.perturb(texts, "typos", 0.2, 7) != robustness.perturb(texts, "typos", 0.2, 8)
    assert robustness.perturb(["It is good."], "contractions") == ["It's good."]
    assert robustness.perturb(["a b c d e f g h"], "word_dropout", 1.0) == ["a"]


def test_flip_rate_known_by_construction():
    # a "model" that says 1 when a text has a capital letter: casing flips exactly the
    # texts whose case it changes from having capitals to not, and vice versa
    texts = ["Hello there", "all lower", "MIXED case", "plain", "x!"]
    model = lambda batch: np.array([int(any(c.isupper() for c in t)) for t in batch])
    pred = model(texts)
    true = np.array([1, 0, 1, 0, 0])
    batch, where = robustness.perturbed_inputs(texts, ["casing", "no_punctuation"], 0.1, 0)
    rep = robustness.robustness_report(texts, true, pred, model(batch), where, ["0", "1"], 0.1, 0)
    casing = rep["perturbations"]["casing"]
    # swapcase: "hELLO THERE" (still has capitals), "ALL LOWER" (gains), "mixed CASE" (keeps),
    # "PLAIN" (gains), "X!" (gains): 3 of 5 flip, all from 0 to 1
    assert casing["flip_rate"] == pytest.approx(3 / 5)
    assert casing["accuracy"] == pytest.approx(2 / 5)
    assert len(casing["flipped"]) == 3 and casing["flipped"][0]["perturbed"] == "ALL LOWER"
    punct = rep["perturbations"]["no_punctuation"]
    assert punct["flip_rate"] == 0.0 and punct["changed"] == pytest.approx(1 / 5)
