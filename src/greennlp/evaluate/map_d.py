"""MAP-D (Siddiqui et al. 2022): a nearest-neighbour vote over loss trajectories.

Every training example's loss at each epoch is a point in R^epochs; the probes (whose
metadata is known by construction, :mod:`greennlp.data.probes`) are labelled points.
Each example gets the suite most common among its ``k`` nearest probe trajectories and
the share of the vote it won as its score (scikit-learn's KNeighborsClassifier).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def knn_vote(loss: np.ndarray, suites: np.ndarray, k: int = 20) -> tuple:
    """Predicted suite, its vote share, every suite's share and the suites' order, for
    every example (columns of ``loss``: epochs x n).

    The probes vote too (leave-one-out is not applied: their own point counts once).
    """
    from sklearn.neighbors import KNeighborsClassifier

    traj = np.nan_to_num(loss.T, nan=float(np.nanmean(loss)))
    probes = suites != ""
    knn = KNeighborsClassifier(n_neighbors=min(k, int(probes.sum()))).fit(traj[probes], suites[probes])
    proba = knn.predict_proba(traj)
    best = proba.argmax(1)
    return knn.classes_[best], proba[np.arange(len(best)), best], proba, knn.classes_


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
