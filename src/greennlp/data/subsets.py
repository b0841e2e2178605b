"""Training on less data: rank the training examples by a score from a cheap probe's
training dynamics, keep a fraction of each class, train on it.

Every ranking gives each training example an importance (higher = kept first); the kept
share is taken within each class, so the label profile of the training split is kept:

- ``random``: a seeded random order (the control every score must beat);
- ``el2n``: the error of the probe's gold-label probability, ``1 - p(gold)``, averaged
  over the first half of its epochs (Paul et al. 2021 score early in training; for two
  classes EL2N is ``sqrt(2) (1 - p(gold))``, the same order). The hardest are kept;
- ``forgetting``: forgetting events, epochs where a correct example turns wrong (Toneva
  et al. 2019); never-learned examples count as forgotten at every epoch, the most
  forgotten are kept, ties broken by ``el2n``;
- ``map_d``: the MAP-D category of each example (Siddiqui et al. 2022): atypical first,
  then typical, then the ones whose trajectories look corrupted, then mislabeled; within
  a category the least noise-like first.

Sorscher et al. (2022) show that keeping the hardest examples helps only with enough
data; with little data a score may not beat random, which the comparison shows.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from greennlp.config.sections import RANKINGS
# MAP-D categories, least to most kept
MAP_D_ORDER = ("random_labels", "corrupted", "typical", "atypical")


def el2n(prob: np.ndarray) -> np.ndarray:
    """``1 - p(gold)`` averaged over the first half of the epochs (``prob``: epochs x n).

    >>> el2n(np.array([[0.9, 0.2], [1.0, 0.4]])).round(2).tolist()
    [0.1, 0.8]
    """
    early = prob[:max(1, int(np.ceil(len(prob) / 2)))]
    return 1.0 - np.nan_to_num(np.nanmean(early, axis=0), nan=0.5)


def forgetting(correct: np.ndarray) -> np.ndarray:
    """Forgetting events per example (``correct``: epochs x n, 0/1); never learned = epochs.

    >>> forgetting(np.array([[1, 0, 1], [0, 0, 1], [1, 0, 1]])).tolist()
    [1, 3, 0]
    """
    c = np.nan_to_num(correct, nan=0.0) > 0.5
    events = (c[:-1] & ~c[1:]).sum(axis=0)
    return np.where(c.any(axis=0), events, len(c)).astype(int)


def importance(ranking: str, n: int, seed: int, dynamics: dict[str, np.ndarray] | None = None,
               category: Sequence[str] | None = None,
               noise_score: np.ndarray | None = None) -> np.ndarray:
    """The importance of each of ``n`` training examples under ``ranking`` (higher = kept
    first); ``dynamics`` (``prob``, ``correct``: epochs x n) and MAP-D's ``category`` and
    ``noise_score`` come from the audit's probe training, training examples first."""
    if ranking == "random":
        return np.random.default_rng(seed).random(n)
    if dynamics is None:
        raise ValueError(f"ranking {ranking!r} needs the probe's training dynamics")
    hard = el2n(dynamics["prob"][:, :n])
    if ranking == "el2n":
        return hard
    if ranking == "forgetting":
        return forgetting(dynamics["correct"][:, :n]) + 0.5 * hard
    if ranking == "map_d":
        rank = {c: i for i, c in enumerate(MAP_D_ORDER)}
        level = np.array([rank.get(str(c), 1.5) for c in list(category)[:n]], dtype=float)
        return level + 0.5 * (1.0 - np.asarray(noise_score, dtype=float)[:n])
    raise ValueError(f"unknown ranking {ranking!r}; use one of {', '.join(RANKINGS)}")


def kept_indices(scores: np.ndarray, labels: Sequence[str], fraction: float,
                 seed: int = 0) -> np.ndarray:
    """Indices (sorted) of the ``fraction`` most important examples of each class (at least
    one per class); equal scores are broken by a seeded random order.

    >>> kept_indices(np.array([0.1, 0.9, 0.5, 0.7]), ["a", "a", "b", "b"], 0.5).tolist()
    [1, 3]
    """
    labels = np.asarray([str(x) for x in labels])
    tie = np.random.default_rng(seed).random(len(scores))
    keep = []
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        order = rows[np.lexsort((tie[rows], -np.asarray(scores)[rows]))]
        keep.append(order[:max(1, int(round(fraction * len(rows))))])
    return np.sort(np.concatenate(keep))
