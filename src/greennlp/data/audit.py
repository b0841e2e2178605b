"""The data audit: near-duplicates inside train, train <-> dev / test matches, and (for
LM corpora) exact shared spans, as the shares Lee et al. (2022) report, with examples.

Pure computation on the splits: the ``audit`` stage and ``greennlp audit`` call
:func:`audit_splits` and put its result in the run record's data section.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np

from greennlp.data import near_duplicates as nd
from greennlp.data.substrings import substring_overlap

SPLITS = ("train", "dev", "test")


def _examples(texts: list[str], labels: list[str] | None, pairs: np.ndarray, sim: np.ndarray,
              where: list[str], k: int) -> list[dict[str, Any]]:
    """Up to ``k`` pairs, least similar first among those at the threshold or above (the
    informative ones: identical pairs are what exact deduplication already finds)."""
    out = []
    for p in np.argsort(sim, kind="stable")[:k]:
        i, j = pairs[p]
        row = {"a": texts[i][:300], "b": texts[j][:300], "jaccard": round(float(sim[p]), 3),
               "a_split": where[i], "b_split": where[j]}
        if labels is not None:
            row.update(a_label=str(labels[i]), b_label=str(labels[j]))
        out.append(row)
    return out


def audit_splits(splits: dict[str, Sequence[str]], cfg, labels: dict[str, Sequence] | None = None,
                 lm: bool = False, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Near-duplicate shares of each split (and exact spans for an LM corpus).

    Parameters
    ----------
    splits
        Split name -> documents (train, dev, test).
    cfg
        An :class:`~greennlp.config.AuditConfig`.
    labels
        Split name -> labels (classification): near-duplicate pairs whose labels
        disagree are counted.
    progress
        Called with the number of documents whose signatures were just computed.

    Returns
    -------
    dict
        For the record's ``data["audit"]``: settings, per split shares, clusters,
        the test rows with a near-duplicate in train (for the clean-test score),
        examples, the measured recall of LSH and the time taken.
    """
    t0 = time.perf_counter()
    texts = [t for name in SPLITS for t in splits[name]]
    where = [name for name in SPLITS for _ in splits[name]]
    labs = [lab for name in SPLITS for lab in labels[name]] if labels else None
    start = {}
    pos = 0
    for name in SPLITS:
        start[name] = pos
        pos += len(splits[name])
    split_of = np.array([SPLITS.index(w) for w in where], dtype=np.int64)
    shingles = nd.shingle(texts, cfg.ngram)
    nd.check_ngram(shingles, cfg.ngram, "the dataset")
    found = nd.find(shingles, cfg.threshold, cfg.num_perm, progress=progress)
    t_find = time.perf_counter() - t0
    recall = nd.recall_against_brute_force(shingles, found, cfg.threshold, cfg.recall_sample)
    bands, rows = nd.lsh_bands(cfg.num_perm, cfg.threshold)
    pairs, sim = found.pairs, found.similarity
    sa, sb = split_of[pairs[:, 0]], split_of[pairs[:, 1]]
    out: dict[str, Any] = {
        "settings": {"threshold": cfg.threshold, "ngram": cfg.ngram, "num_perm": cfg.num_perm,
                     "bands": bands, "rows_per_band": rows, "unit": "lower-cased whitespace words"},
        "documents": len(texts), "short_documents": int(shingles.short.sum()),
        "candidate_pairs": found.candidates, "near_duplicate_pairs": int(len(pairs)),
        "recall": recall,
    }
    # inside train: clusters of near-duplicates (connected components of train-train pairs)
    n_train = len(splits["train"])
    tt = (sa == 0) & (sb == 0)
    cl = _components(n_train, pairs[tt])
    sizes = np.bincount(cl)
    in_cluster = sizes[cl] > 1
    out["train"] = {"documents": n_train, "in_clusters": int(in_cluster.sum()),
                    "in_clusters_share": float(in_cluster.mean()) if n_train else 0.0,
                    "clusters": int((sizes > 1).sum()), "largest_cluster": int(sizes.max(initial=0)),
                    "removable": int((sizes[sizes > 1] - 1).sum()),
                    "removable_share": float((sizes[sizes > 1] - 1).sum() / max(1, n_train)),
                    "pairs": int(tt.sum())}
    if labs is not None:
        disagree = [labs[i] != labs[j] for i, j in pairs[tt]]
        out["train"]["pairs_with_different_labels"] = int(sum(disagree))
    k = cfg.examples
    out["examples"] = {"train": _examples(texts, labs, pairs[tt], sim[tt], where, k)}
    for code, name in ((1, "dev"), (2, "test")):
        cross = ((sa == 0) & (sb == code)) | ((sa == code) & (sb == 0))
        other = np.where(sa[cross] == code, pairs[cross, 0], pairs[cross, 1]) - start[name]
        rows_hit = np.unique(other)
        n = len(splits[name])
        out[name] = {"documents": n, "with_train_match": int(len(rows_hit)),
                     "with_train_match_share": len(rows_hit) / n if n else 0.0,
                     "pairs": int(cross.sum()), "rows": rows_hit.astype(int).tolist()}
        if labs is not None:
            out[name]["pairs_with_different_labels"] = int(sum(
                labs[i] != labs[j] for i, j in pairs[cross]))
        out["examples"][name] = _examples(texts, labs, pairs[cross], sim[cross], where, k)
    if lm:
        out["substrings"] = substring_overlap({n: list(splits[n]) for n in SPLITS},
                                              cfg.substring_tokens, examples=min(k, 3))
    out["duration_s"] = {"near_duplicates": t_find, "total": time.perf_counter() - t0}
    return out


def _components(n: int, pairs: np.ndarray) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def clean_test_mask(audit: dict[str, Any], n_test: int) -> np.ndarray:
    """True for the test rows without a near-duplicate in train."""
    mask = np.ones(n_test, dtype=bool)
    mask[np.asarray(audit.get("test", {}).get("rows", []), dtype=int)] = False
    return mask
