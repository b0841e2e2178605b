"""Baselines, the selection metric and the sanity check, on an imbalanced label set."""

from __future__ import annotations

import numpy as np
import pytest

from greennlp.evaluate.baselines import (
    baseline_scores,
    label_profile,
    resolve_selection_metric,
    sanity,
)

SPAM = ["ham"] * 87 + ["spam"] * 13  # 13% minority


def test_selection_metric_suits_the_label_distribution():
    assert resolve_selection_metric("auto", SPAM)[0] == "macro_f1"
    assert resolve_selection_metric("auto", ["a"] * 58 + ["b"] * 42)[0] == "accuracy"
    metric, reason = resolve_selection_metric("accuracy", SPAM)
    assert metric == "accuracy" and "evaluate.selection_metric" in reason
    assert label_profile(SPAM)["majority_share"] == pytest.approx(0.87)


def test_baselines_score_like_models():
    from sklearn.dummy import DummyClassifier
    from sklearn.metrics import accuracy_score, f1_score

    true = np.array([0] * 261 + [1] * 39)
    scores = baseline_scores(SPAM, true, ["ham", "spam"], n_samples=200)
    dummy = DummyClassifier(strategy="most_frequent").fit(np.zeros((100, 1)), SPAM)
    pred = dummy.predict(np.zeros((300, 1)))
    names = np.array(["ham", "spam"])[true]
    assert scores["majority"]["accuracy"]["value"] == pytest.approx(accuracy_score(names, pred))
    assert scores["majority"]["macro_f1"]["value"] == pytest.approx(
        f1_score(names, pred, average="macro"))
    assert 0.6 < scores["stratified"]["accuracy"]["value"] < 0.9  # about .87^2 + .13^2


def test_a_collapsed_model_fails_the_sanity_check():
    cm = [[261, 0], [39, 0]]  # predicts ham for everything: accuracy = the majority share
    acc = {"value": 0.87, "low": 0.83, "high": 0.91}
    s = sanity("minilm", cm, ["ham", "spam"], acc, 0.87)
    assert s["collapsed"] and not s["beats_majority"]
    assert s["predicted_class"] == "ham" and s["predicted_share"] == 1.0
    assert s["warning"].startswith("WARNING: minilm predicts 'ham' for 100.0%")
    assert "recall spam 0.00" in s["warning"]


def test_a_useful_model_passes_and_a_skewed_truth_is_not_a_collapse():
    good = sanity("m", [[250, 11], [9, 30]], ["ham", "spam"],
                  {"value": 0.933, "low": 0.90, "high": 0.96}, 0.87)
    assert good["warning"] is None
    # 97% of the true labels are ham: predicting ham 99% of the time is not a collapse
    skewed = sanity("m", [[290, 1], [7, 2]], ["ham", "spam"],
                    {"value": 0.973, "low": 0.98, "high": 0.99}, 0.97)
    assert not skewed["collapsed"] and skewed["warning"] is None
