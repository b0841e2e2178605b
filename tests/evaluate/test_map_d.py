"""MAP-D's vote over loss trajectories and the cartography map."""

import numpy as np

from greennlp.evaluate import cartography, map_d


def _trajectories(rng, n, start, end):
    return np.linspace(start, end, 5)[:, None] + rng.normal(0, 0.05, size=(5, n))


def test_knn_vote_gives_each_example_the_suite_its_trajectory_resembles():
    rng = np.random.default_rng(0)
    easy = _trajectories(rng, 60, 0.5, 0.05)  # learnt at once
    noisy = _trajectories(rng, 60, 1.5, 0.9)  # learnt late, if at all
    loss = np.concatenate([easy, noisy], axis=1)
    suites = np.array(["typical"] * 20 + [""] * 40 + ["random_labels"] * 20 + [""] * 40)
    out = map_d.scores(loss, suites, k=5)
    assert (out["category"][20:60] == "typical").all()
    assert (out["category"][80:] == "random_labels").all()
    assert (out["noise_score"][80:] > 0.9).all() and (out["noise_score"][20:60] < 0.1).all()
    summary = map_d.summary(out, suites, np.ones(120, bool), [f"t{i}" for i in range(120)],
                            ["a"] * 120, loss, top=3)
    assert summary["probe_accuracy"] == 1.0
    assert summary["categories"]["random_labels"]["share"] == 0.5
    assert len(summary["categories"]["typical"]["top"]) == 3


def test_cartography_statistics_match_numpy():
    rng = np.random.default_rng(1)
    prob = rng.random((4, 30))
    correct = (prob > 0.5).astype(float)
    m = cartography.cartography(prob, correct)
    assert np.allclose(m["confidence"], prob.mean(0)) and np.allclose(m["variability"], prob.std(0))
    assert np.allclose(m["correctness"], correct.mean(0))
    assert (m["region"] == "ambiguous").sum() == 10  # the most variable third
    s = cartography.summary(m, [str(i) for i in range(30)], ["x"] * 30, top=2)
    assert abs(sum(r["share"] for r in s["regions"].values()) - 1) < 1e-9


def test_a_probe_does_not_vote_for_itself():
    loss = np.array([[0.0, 0.0, 10.0, 10.0, 10.0]])
    suites = np.array(["typical", "random_labels", "random_labels", "random_labels", ""])
    cat, share, _, _ = map_d.knn_vote(loss, suites, k=1)
    # probe 0's nearest other probe is probe 1 (distance 0), not itself
    assert cat[0] == "random_labels" and cat[1] == "typical" and cat[4] == "random_labels"
    assert share.tolist() == [1.0] * 5
