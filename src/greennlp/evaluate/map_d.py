"""MAP-D (Siddiqui et al. 2022): a nearest-neighbour vote over loss trajectories.

Every training example's loss at each epoch is a point in R^epochs; the probes (whose
metadata is known by construction, :mod:`greennlp.data.probes`) are labelled points.
Each example gets the suite most common among its ``k`` nearest probe trajectories and
the share of the vote it won as its score (neighbours from scikit-learn).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def knn_vote(loss: np.ndarray, suites: np.ndarray, k: int = 20) -> tuple:
    """Predicted suite, its vote share, every suite's share and the suites' order, for
    every example (columns of ``loss``: epochs x n). A probe does not vote for itself
    (leave-one-out), so the probes' own accuracy is an honest estimate.
    """
    from sklearn.neighbors import NearestNeighbors

    traj = np.nan_to_num(loss.T, nan=float(np.nanmean(loss)))
    probe_idx = np.flatnonzero(suites != "")
    classes, codes = np.unique(suites[probe_idx], return_inverse=True)
    k = min(k, len(probe_idx) - 1)
    nn = NearestNeighbors(n_neighbors=k + 1).fit(traj[probe_idx])
    _, near = nn.kneighbors(traj)
    own = np.full(len(traj), -1)
    own[probe_idx] = np.arange(len(probe_idx))
    # drop the example itself where it is a probe, else the farthest of the k + 1
    is_self = near == own[:, None]
    drop = np.where(is_self.any(1), is_self.argmax(1), k)
    keep = np.ones_like(near, dtype=bool)
    keep[np.arange(len(near)), drop] = False
    votes = codes[near[keep].reshape(len(near), k)]
    proba = np.stack([(votes == c).mean(1) for c in range(len(classes))], axis=1)
    best = proba.argmax(1)
    return classes[best], proba[np.arange(len(best)), best], proba, classes


def scores(loss: np.ndarray, suites: np.ndarray, k: int = 20) -> dict[str, np.ndarray]:
    """``category``, ``score`` (vote share) and ``noise_score`` (the share of votes for
    ``random_labels``: how much an example's trajectory looks like a mislabeled one's)."""
    category, share, proba, classes = knn_vote(loss, suites, k)
    col = list(classes).index("random_labels") if "random_labels" in classes else None
    noise = proba[:, col] if col is not None else np.zeros(len(category))
    return {"category": category, "score": share, "noise_score": noise}


def summary(result: dict[str, np.ndarray], suites: np.ndarray, original: np.ndarray,
            texts: list[str], labels: list[str], loss: np.ndarray, top: int = 5) -> dict[str, Any]:
    """Shares of each category among the ``original`` training examples (not the probe
    copies), the top examples of each (highest vote share, then highest mean loss), and
    the share of probes whose own suite won the vote."""
    ordinary = np.flatnonzero(original)
    cat, score = result["category"], result["score"]
    mean_loss = np.nanmean(loss, axis=0)
    probes = suites != ""
    out: dict[str, Any] = {"examples": int(len(ordinary)),
                           "probe_accuracy": float(np.mean(cat[probes] == suites[probes])),
                           "categories": {}}
    for name in sorted(set(suites[probes])):
        idx = ordinary[cat[ordinary] == name]
        best = idx[np.lexsort((-mean_loss[idx], -score[idx]))[:top]]
        out["categories"][name] = {
            "share": len(idx) / max(1, len(ordinary)),
            "top": [{"index": int(i), "text": texts[i][:300], "label": str(labels[i]),
                     "score": round(float(score[i]), 3),
                     "mean_loss": round(float(mean_loss[i]), 3)} for i in best]}
    return out
