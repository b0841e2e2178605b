"""Exact substring overlap between splits: every span of ``length`` tokens, hashed.

Lee et al. (2022) find exact duplicate substrings of at least 50 tokens with a suffix
array. Asking only "does this 50-token span also occur in train?" needs no suffix
array: hashing every window of 50 tokens (64-bit, a rolling polynomial hash computed
for all windows at once) and testing membership with sorted arrays gives the same
answer (up to 64-bit hash collisions, about n^2 / 2^64: none at these sizes) in
O(n log n). Tokens are whitespace words, and each split is one stream (its documents
in order, as a language model reads them), so a span may cross document boundaries.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from greennlp.data.near_duplicates import window_hashes


def _stream_ids(splits: dict[str, Sequence[str]]) -> dict[str, np.ndarray]:
    """Word ids of each split's stream, with one vocabulary for all splits."""
    words = {name: [w for d in docs for w in d.split()] for name, docs in splits.items()}
    flat = [w for ws in words.values() for w in ws]
    codes = pd.factorize(pd.Series(flat, dtype=object))[0].astype(np.uint64) + np.uint64(1) \
        if flat else np.zeros(0, dtype=np.uint64)
    out, pos = {}, 0
    for name, ws in words.items():
        out[name] = codes[pos:pos + len(ws)]
        pos += len(ws)
    return out


def _covered(n_tokens: int, starts: np.ndarray, length: int) -> int:
    """How many of ``n_tokens`` positions lie inside at least one window starting at
    ``starts`` (each ``length`` long)."""
    if len(starts) == 0:
        return 0
    marks = np.zeros(n_tokens + 1, dtype=np.int64)
    np.add.at(marks, starts, 1)
    np.add.at(marks, starts + length, -1)
    return int((np.cumsum(marks)[:n_tokens] > 0).sum())


def _docs_hit(docs: Sequence[str], starts: np.ndarray, length: int) -> np.ndarray:
    """Indices of the documents that overlap a window starting at ``starts``."""
    lengths = np.fromiter((len(d.split()) for d in docs), dtype=np.int64, count=len(docs))
    bounds = np.cumsum(lengths)
    first = np.searchsorted(bounds, starts, side="right")
    last = np.searchsorted(bounds, starts + length - 1, side="right")
    hit = np.zeros(len(docs), dtype=bool)
    for a, b in zip(first, last):
        hit[a:b + 1] = True
    return np.flatnonzero(hit)


def substring_overlap(splits: dict[str, Sequence[str]], length: int = 50,
                      examples: int = 3) -> dict[str, Any]:
    """Spans of ``length`` tokens of dev / test that also occur in train, and spans
    repeated inside train.

    Returns
    -------
    dict
        ``length``; ``train_tokens_in_repeated_spans`` (share of train tokens inside a
        span that occurs at least twice in train, Lee et al.'s "duplicate content");
        per other split: ``tokens_covered_share`` (share of its tokens inside a span
        also in train), ``documents_touched`` and a few example spans.
    """
    ids = _stream_ids(splits)
    train = window_hashes(ids["train"], length)
    uniq, counts = np.unique(train, return_counts=True)
    repeated = np.isin(train, uniq[counts > 1])
    n_train = len(ids["train"])
    out: dict[str, Any] = {"length": length, "unit": "whitespace words", "train_tokens": n_train,
                           "train_tokens_in_repeated_spans": (
                               _covered(n_train, np.flatnonzero(repeated), length) / n_train
                               if n_train else 0.0)}
    for name in splits:
        if name == "train":
            continue
        h = window_hashes(ids[name], length)
        starts = np.flatnonzero(np.isin(h, uniq))
        n = len(ids[name])
        docs = _docs_hit(splits[name], starts, length)
        stream = [w for d in splits[name] for w in d.split()]
        spans = []
        for s in starts[::max(1, len(starts) // examples)][:examples] if len(starts) else []:
            spans.append(" ".join(stream[s:s + length]))
        out[name] = {"tokens": n, "tokens_covered": _covered(n, starts, length),
                     "tokens_covered_share": _covered(n, starts, length) / n if n else 0.0,
                     "documents_touched": int(len(docs)),
                     "documents_touched_share": len(docs) / max(1, len(splits[name])),
                     "examples": spans}
    return out
