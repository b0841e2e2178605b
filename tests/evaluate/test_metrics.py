import numpy as np
import pytest
from sklearn import metrics as sk

from greennlp.evaluate.bootstrap import bootstrap_scores, resampled_confusions
from greennlp.evaluate.metrics import (METRICS, accuracy, confusion_counts, confusion_matrix,
                                       precision_recall_f1, scores_from_confusion)


def _random_labels(n, k, seed, skill=0.6):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    pred = np.where(rng.random(n) < skill, y, rng.integers(0, k, n))
    names = np.array([f"c{i}" for i in range(k)])
    return names[y], names[pred]


@pytest.mark.parametrize("n, k, seed", [(50, 2, 0), (500, 3, 1), (1000, 5, 2), (30, 4, 3)])
def test_every_metric_matches_scikit_learn(n, k, seed):
    y, p = _random_labels(n, k, seed)
    labels = sorted(set(y) | set(p))
    got = precision_recall_f1(y, p)
    assert accuracy(y, p)["accuracy"] == pytest.approx(sk.accuracy_score(y, p))
    for avg in ("macro", "micro", "weighted"):
        pr, rc, f1, _ = sk.precision_recall_fscore_support(y, p, average=avg, zero_division=0)
        assert got[f"{avg}_f1"] == pytest.approx(f1)
        if avg != "weighted":
            assert got[f"{avg}_precision"] == pytest.approx(pr)
            assert got[f"{avg}_recall"] == pytest.approx(rc)
    pr, rc, f1, _ = sk.precision_recall_fscore_support(y, p, labels=labels, zero_division=0)
    for i, lab in enumerate(labels):
        assert got[f"precision_{lab}"] == pytest.approx(pr[i])
        assert got[f"recall_{lab}"] == pytest.approx(rc[i])
        assert got[f"f1_{lab}"] == pytest.approx(f1[i])
    assert confusion_matrix(y, p)["matrix"] == sk.confusion_matrix(y, p, labels=labels).tolist()


def test_a_class_never_predicted_scores_zero_like_sklearn():
    y, p = ["a", "b", "c", "c"], ["a", "a", "c", "c"]
    got = precision_recall_f1(y, p, labels=["a", "b", "c"])
    assert got["precision_b"] == 0 and got["f1_b"] == 0
    assert got["macro_f1"] == pytest.approx(sk.f1_score(y, p, average="macro", zero_division=0))


def test_registry_is_a_plain_dict_of_functions():
    assert set(METRICS) == {"accuracy", "precision_recall_f1", "confusion_matrix"}
    assert METRICS["accuracy"]([1, 2], [1, 1]) == {"accuracy": 0.5}


def test_batched_confusions_match_one_by_one():
    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    boot = resampled_confusions(t, p, 3, n_samples=7, seed=1)
    assert boot.shape == (7, 3, 3) and (boot.sum((1, 2)) == 200).all()
    batched = scores_from_confusion(boot)["macro_f1"]
    single = [scores_from_confusion(cm)["macro_f1"] for cm in boot]
    np.testing.assert_allclose(batched, single)


def test_bootstrap_interval_contains_the_estimate_and_shrinks_with_n():
    y, p = _random_labels(200, 2, 0)
    yi, pi = (y == "c1").astype(int), (p == "c1").astype(int)
    small = bootstrap_scores(yi, pi, 2, n_samples=1000, seed=0)["accuracy"]
    big = bootstrap_scores(np.tile(yi, 16), np.tile(pi, 16), 2, n_samples=1000, seed=0)["accuracy"]
    assert small["low"] < small["value"] < small["high"]
    assert (big["high"] - big["low"]) < (small["high"] - small["low"]) / 2.5


def test_bootstrap_matches_the_normal_approximation_for_accuracy():
    y, p = _random_labels(2000, 2, 5, skill=0.5)
    yi, pi = (y == "c1").astype(int), (p == "c1").astype(int)
    ci = bootstrap_scores(yi, pi, 2, n_samples=2000, seed=0)["accuracy"]
    acc = ci["value"]
    half = 1.96 * np.sqrt(acc * (1 - acc) / len(yi))
    assert ci["high"] - ci["low"] == pytest.approx(2 * half, rel=0.15)


def test_bootstrap_is_reproducible_and_names_classes():
    t, p = np.array([0, 1, 1, 0, 1]), np.array([0, 1, 0, 0, 1])
    a = bootstrap_scores(t, p, 2, n_samples=200, seed=3, labels=["neg", "pos"])
    b = bootstrap_scores(t, p, 2, n_samples=200, seed=3, labels=["neg", "pos"])
    assert a == b and "recall_pos" in a and a["recall_pos"]["value"] == pytest.approx(2 / 3)


def test_confusion_counts_rows_are_true_classes():
    assert confusion_counts(np.array([0, 0, 1]), np.array([1, 0, 1]), 2).tolist() == [[1, 1], [0, 1]]
