"""Pruning-identified exemplars (Hooker et al. 2019, "What do compressed deep neural
networks forget?"), as pure functions over populations of predictions.

A population is several models of one kind (e.g. the same dense model trained with
seeds 0..4, or each of them pruned). An example is a PIE when the modal prediction of
the compressed population differs from the modal prediction of the dense population.
Nothing here trains or measures: the glue in :mod:`greennlp.compress.population`
produces the probability arrays.

>>> import numpy as np
>>> dense = [np.array([[0.9, 0.1], [0.2, 0.8]])] * 3
>>> pruned = [np.array([[0.9, 0.1], [0.7, 0.3]])] * 3
>>> pie_mask(dense, pruned).tolist()
[False, True]
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def modal_prediction(probas: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The most frequent argmax label of a population, and the share of votes it got.

    Ties between labels with equally many votes are broken by the population's mean
    probability (then by the lower label index), so the result never depends on the
    order of the population.

    Parameters
    ----------
    probas
        One ``(n_examples, n_classes)`` probability array per population member.

    Returns
    -------
    tuple of numpy.ndarray
        Modal label index per example, and the fraction of members that voted for it.
    """
    stack = np.stack([np.asarray(p, dtype=float) for p in probas])  # (M, N, K)
    if stack.ndim != 3 or len(stack) == 0:
        raise ValueError("a population is a non-empty list of (n_examples, n_classes) arrays")
    members, _, n_classes = stack.shape
    votes = np.stack([(stack.argmax(-1) == k).sum(0) for k in range(n_classes)], -1)  # (N, K)
    # Mean probability lies in [0, 1], so adding it (scaled below one vote) only breaks ties.
    score = votes + 0.5 * stack.mean(0)
    mode = score.argmax(-1)
    share = votes[np.arange(len(mode)), mode] / members
    return mode, share


def pie_mask(dense: Sequence[np.ndarray], compressed: Sequence[np.ndarray]) -> np.ndarray:
    """True where the compressed population's modal label differs from the dense one's."""
    dense_mode, _ = modal_prediction(dense)
    comp_mode, _ = modal_prediction(compressed)
    if dense_mode.shape != comp_mode.shape:
        raise ValueError("dense and compressed populations were scored on different examples")
    return dense_mode != comp_mode


def _accuracy(true: np.ndarray, pred: np.ndarray) -> float | None:
    return float(np.mean(true == pred)) if len(true) else None


def _recall(true: np.ndarray, pred: np.ndarray, k: int) -> float | None:
    rows = true == k
    return float(np.mean(pred[rows] == k)) if rows.any() else None


def pie_audit(true: np.ndarray, dense: Sequence[np.ndarray], compressed: Sequence[np.ndarray],
              labels: Sequence[str], texts: Sequence[str] | None = None,
              max_examples: int = 30) -> dict[str, Any]:
    """Everything the report says about PIEs.

    Parameters
    ----------
    true
        True label index per example.
    dense, compressed
        The two populations' probability arrays on the same examples.
    labels
        Class names in column order.
    texts
        The examples' texts, to show PIEs to a person (optional).
    max_examples
        At most this many PIEs are listed, those the compressed population agrees on
        most first (the clearest disagreements).

    Returns
    -------
    dict
        ``count``, ``fraction``, accuracy of both populations' modal predictions on PIEs
        and on the rest, per-class recall of both and its change, and ``examples``.
    """
    true = np.asarray(true)
    dense_mode, dense_share = modal_prediction(dense)
    comp_mode, comp_share = modal_prediction(compressed)
    pie = dense_mode != comp_mode
    rest = ~pie
    per_class = []
    for k, name in enumerate(labels):
        before, after = _recall(true, dense_mode, k), _recall(true, comp_mode, k)
        per_class.append({"label": name, "support": int((true == k).sum()),
                          "pies": int((pie & (true == k)).sum()),
                          "dense_recall": before, "compressed_recall": after,
                          "recall_change": None if before is None else after - before})
    per_class.sort(key=lambda c: c["recall_change"] if c["recall_change"] is not None else 0.0)
    order = np.flatnonzero(pie)[np.argsort(-comp_share[pie], kind="stable")][:max_examples]
    examples = [{"index": int(i), "text": None if texts is None else str(texts[i]),
                 "true": labels[true[i]], "dense": labels[dense_mode[i]],
                 "compressed": labels[comp_mode[i]], "dense_votes": float(dense_share[i]),
                 "compressed_votes": float(comp_share[i])} for i in order]
    return {
        "count": int(pie.sum()), "examples_total": int(len(pie)),
        "fraction": float(pie.mean()) if len(pie) else 0.0,
        "dense_members": len(dense), "compressed_members": len(compressed),
        "accuracy": {
            "dense_on_pies": _accuracy(true[pie], dense_mode[pie]),
            "compressed_on_pies": _accuracy(true[pie], comp_mode[pie]),
            "dense_on_rest": _accuracy(true[rest], dense_mode[rest]),
            "compressed_on_rest": _accuracy(true[rest], comp_mode[rest]),
            "dense_all": _accuracy(true, dense_mode), "compressed_all": _accuracy(true, comp_mode),
        },
        "per_class": per_class,
        "examples": examples,
    }
