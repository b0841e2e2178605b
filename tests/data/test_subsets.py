"""Ranking training examples for a kept share (greennlp.data.subsets)."""

import numpy as np
import pytest

from greennlp.data.subsets import el2n, forgetting, importance, kept_indices
from greennlp.errors import UserError
from greennlp.tasks import load_config


def test_kept_share_is_taken_within_each_class_and_keeps_the_most_important():
    labels = ["a"] * 10 + ["b"] * 30
    scores = np.arange(40, dtype=float)
    kept = kept_indices(scores, labels, 0.3)
    assert len(kept) == 3 + 9
    assert set(kept.tolist()) == set(range(7, 10)) | set(range(31, 40))


def test_every_class_keeps_at_least_one_example():
    kept = kept_indices(np.zeros(21), ["a"] + ["b"] * 20, 0.1)
    assert 0 in kept.tolist() and len(kept) == 3


def test_random_ranking_depends_on_the_seed_only():
    a, b = importance("random", 50, 1), importance("random", 50, 1)
    assert np.array_equal(a, b) and not np.array_equal(a, importance("random", 50, 2))


def test_dynamics_rankings_order_hard_forgotten_and_map_d_categories():
    prob = np.array([[0.9, 0.1, 0.5, 0.9], [0.95, 0.2, 0.6, 0.1], [0.99, 0.3, 0.9, 0.9],
                     [0.99, 0.3, 0.9, 0.9]])
    correct = (prob > 0.5).astype(float)
    dyn = {"prob": prob, "correct": correct}
    assert np.argsort(-el2n(prob)).tolist()[0] == 1  # the never-confident example
    assert forgetting(correct).tolist() == [0, 4, 0, 1]  # 1 never learned, 3 forgotten once
    assert np.argmax(importance("forgetting", 4, 0, dyn)) == 1
    cats = np.array(["typical", "random_labels", "atypical", "corrupted", "typical"])
    score = importance("map_d", 4, 0, dyn, cats, np.array([0.0, 0.9, 0.1, 0.2, 0.0]))
    assert np.argsort(-score).tolist() == [2, 0, 3, 1]  # probe rows past n are ignored
    with pytest.raises(ValueError):
        importance("el2n", 4, 0)


def test_a_ranked_subset_without_the_audit_probe_is_refused_before_work():
    with pytest.raises(UserError, match="audit.dynamics=true"):
        load_config(None, ["train.data_fraction=0.5", "train.data_ranking=map_d",
                           "audit.dynamics=false"])
    load_config(None, ["train.data_fraction=0.5", "audit.dynamics=false"])  # random: fine
    with pytest.raises(UserError, match="seeds.keep"):
        load_config(None, ["seeds.strategy=early_stopped", "seeds.count=3", "seeds.keep=3"])
