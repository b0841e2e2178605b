"""Near-duplicate documents: MinHash signatures over word n-grams, LSH banding, exact check.

Lee et al. (2022), "Deduplicating Training Data Makes Language Models Better", find
near-duplicates with MinHash over word 5-grams and count how much of each corpus (and
of its validation split) has a near-duplicate in training. This module does the same,
vectorised with NumPy: a document's words become integer ids, its n-grams 64-bit
hashes, its signature the minimum of ``num_perm`` multiply-shift hashes of those
n-grams, and LSH banding proposes candidate pairs that are then checked with the
*exact* Jaccard similarity of the two n-gram sets, so no pair is reported on an
estimate.

Why not datasketch: ``datasketch.MinHash`` hashes n-grams one by one in Python
(``update_batch`` helps) and ``MinHashLSH`` inserts documents one by one;
``benchmarks/minhash_scale.py`` measures both side by side. The signatures here are
computed for thousands of documents per NumPy call, which is what lets a million
documents be processed in minutes on two cores.

Documents with fewer words than ``ngram`` are shingled as one n-gram of all their words
(so they match only copies of themselves); when most documents are that short the
measure says little and :func:`check_ngram` refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from greennlp.errors import UserError

Progress = Callable[[int], None]
_MASK32 = np.uint64(0xFFFFFFFF)
_PRIME = np.uint64(0x9E3779B97F4A7C15)  # golden-ratio multiplier for polynomial n-gram hashes


@dataclass
class Shingles:
    """The distinct n-gram hashes of each document: ``hashes[offsets[i]:offsets[i+1]]``,
    sorted; ``short`` marks documents with fewer words than the n-gram size."""

    hashes: np.ndarray  # uint64
    offsets: np.ndarray  # int64, len = documents + 1
    short: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def of(self, i: int) -> np.ndarray:
        return self.hashes[self.offsets[i]:self.offsets[i + 1]]


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads the bits of polynomial hashes (in place on a copy)."""
    x = x.copy()
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def word_ids(docs: Sequence[str], lower: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Integer ids (from 1) of every whitespace word, and per-document offsets.

    The documents are joined with a separator word and split once, and the words are
    numbered by pandas' C hash table: about 3x faster than splitting each document.
    """
    sep = "\x00sep\x00"
    text = f" {sep} ".join(docs) + f" {sep}"
    words = (text.lower() if lower else text).split()
    codes, uniques = pd.factorize(pd.Series(words, dtype=object), sort=False)
    sep_code = int(np.flatnonzero(uniques == sep)[0])
    is_sep = codes == sep_code
    ends = np.flatnonzero(is_sep) - np.arange(len(docs))  # word counts before each separator
    offsets = np.zeros(len(docs) + 1, dtype=np.int64)
    offsets[1:] = ends
    return codes[~is_sep].astype(np.uint64) + np.uint64(1), offsets


def window_hashes(ids: np.ndarray, n: int) -> np.ndarray:
    """64-bit hash of every window of ``n`` consecutive ids (``len(ids) - n + 1`` of them).

    >>> h = window_hashes(np.array([1, 2, 3, 1, 2, 3], dtype=np.uint64), 3)
    >>> bool(h[0] == h[3]), bool(h[0] == h[1])
    (True, False)
    """
    m = len(ids) - n + 1
    if m <= 0:
        return np.zeros(0, dtype=np.uint64)
    h = np.zeros(m, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _PRIME + ids[k:k + m]
        return _mix64(h)


def shingle(docs: Sequence[str], ngram: int) -> Shingles:
    """The set of word ``ngram``-gram hashes of every document (lower-cased words)."""
    ids, offsets = word_ids(docs)
    lengths = np.diff(offsets)
    hashes = window_hashes(ids, ngram)
    starts = offsets[:-1]
    counts = np.maximum(lengths - ngram + 1, 0)
    # windows that start inside a document and end inside it
    take = np.repeat(starts, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    doc_of = np.repeat(np.arange(len(docs)), counts)
    values = hashes[take] if len(take) else np.zeros(0, dtype=np.uint64)
    short = counts == 0
    if short.any():  # one shingle of all the words: the hash of the whole short document
        idx = np.flatnonzero(short)
        extra = np.array([_short_hash(ids[offsets[i]:offsets[i + 1]]) for i in idx], dtype=np.uint64)
        values = np.concatenate([values, extra])
        doc_of = np.concatenate([doc_of, idx])
    # sort by (document, hash) and keep distinct hashes per document
    order = np.lexsort((values, doc_of))
    values, doc_of = values[order], doc_of[order]
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = (values[1:] != values[:-1]) | (doc_of[1:] != doc_of[:-1])
    values, doc_of = values[keep], doc_of[keep]
    out_offsets = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(np.bincount(doc_of, minlength=len(docs)), out=out_offsets[1:])
    return Shingles(values, out_offsets, short)


def _short_hash(ids: np.ndarray) -> np.uint64:
    with np.errstate(over="ignore"):
        h = np.uint64(len(ids) + 7)
        for x in ids:
            h = h * _PRIME + x
        return _mix64(np.array([h], dtype=np.uint64))[0]


def check_ngram(shingles: Shingles, ngram: int, what: str = "the corpus") -> None:
    """Refuse a corpus whose documents are mostly shorter than the n-gram size."""
    n = len(shingles)
    if n == 0:
        raise UserError(f"{what.capitalize()} has no documents to audit; give a non-empty dataset.")
    short = int(shingles.short.sum())
    if short * 2 > n:
        raise UserError(f"{short:,} of the {n:,} documents of {what} have fewer than {ngram} "
                        f"words, too short for {ngram}-gram near-duplicates: lower audit.ngram "
                        f"(or set audit.enabled=false).")


def signatures(shingles: Shingles, num_perm: int = 128, seed: int = 1,
               chunk: int = 512, progress: Progress | None = None) -> np.ndarray:
    """MinHash signatures, one row of ``num_perm`` uint32 minima per document.

    Each of the ``num_perm`` hash functions is a multiply-shift hash of the 64-bit
    n-gram hash, ``(a * x + b) >> 32`` with random odd ``a`` (Dietzfelbinger et al.), a
    universal family; the minimum over a document's n-grams estimates Jaccard by
    the share of equal minima. Work goes in blocks of about ``chunk`` n-grams whose
    ``chunk x num_perm`` buffer stays in the CPU cache (512 x 128 x 8 bytes = 512 kB;
    2-8x faster than blocks of 200,000 n-grams here), computed in place.
    """
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    n_docs = len(shingles)
    sig = np.empty((n_docs, num_perm), dtype=np.uint32)
    buf = np.empty((chunk, num_perm), dtype=np.uint64)
    shift = np.uint64(32)
    doc, reported = 0, 0
    while doc < n_docs:  # whole documents, about `chunk` n-grams per block
        end = int(np.searchsorted(shingles.offsets, shingles.offsets[doc] + chunk, side="right"))
        end = min(max(end - 1, doc + 1), n_docs)
        lo, hi = shingles.offsets[doc], shingles.offsets[end]
        if hi - lo > len(buf):  # one document longer than a block
            buf = np.empty((hi - lo, num_perm), dtype=np.uint64)
        h = buf[:hi - lo]
        with np.errstate(over="ignore"):
            np.multiply(shingles.hashes[lo:hi, None], a[None, :], out=h)
            h += b
        h >>= shift
        sig[doc:end] = np.minimum.reduceat(h, shingles.offsets[doc:end] - lo, axis=0)
        if progress is not None and (end - reported >= 10_000 or end == n_docs):
            progress(end - reported)
            reported = end
        doc = end
    return sig


def lsh_bands(num_perm: int, threshold: float, target: float = 0.99) -> tuple[int, int]:
    """(bands, rows): the most rows per band such that a pair with Jaccard ``threshold``
    becomes a candidate with probability at least ``target`` (1 - (1 - t^r)^b).

    >>> lsh_bands(128, 0.8)
    (21, 6)
    """
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if 1 - (1 - threshold ** rows) ** bands >= target:
            best = (bands, rows)
    return best


def candidate_pairs(sig: np.ndarray, bands: int, rows: int, max_bucket: int = 200) -> np.ndarray:
    """Pairs (i < j) that share the whole band of ``rows`` minima in at least one band.

    A bucket with more than ``max_bucket`` documents (a large cluster of copies) links
    each member to its first few members only, so the work stays linear in its size;
    the exact check and the clusters (connected components) still find the cluster.
    """
    n = len(sig)
    pairs = []
    for band in range(bands):
        part = np.ascontiguousarray(sig[:, band * rows:(band + 1) * rows])
        key = _band_key(part)
        order = np.argsort(key, kind="stable")
        k = key[order]
        starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
        sizes = np.diff(np.r_[starts, n])
        for s, size in zip(starts[sizes > 1], sizes[sizes > 1]):
            members = np.sort(order[s:s + size])
            heads = members[:min(size, max_bucket)] if size <= max_bucket else members[:5]
            i, j = np.triu_indices(len(heads), 1)
            pairs.append(np.stack([heads[i], heads[j]], 1))
            if size > max_bucket:
                rest = members[5:]
                pairs.append(np.stack([np.repeat(members[0], len(rest)), rest], 1))
    if not pairs:
        return np.zeros((0, 2), dtype=np.int64)
    allp = np.concatenate(pairs).astype(np.int64)
    return np.unique(allp, axis=0)


def _band_key(part: np.ndarray) -> np.ndarray:
    """A 64-bit key per row of a band (a polynomial hash of its minima)."""
    h = np.zeros(len(part), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in range(part.shape[1]):
            h = h * _PRIME + part[:, c].astype(np.uint64)
    return h


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted arrays of distinct hashes."""
    inter = len(np.intersect1d(a, b, assume_unique=True))
    union = len(a) + len(b) - inter
    return inter / union if union else 1.0


def exact_jaccard(shingles: Shingles, pairs: np.ndarray) -> np.ndarray:
    """The exact Jaccard similarity of each pair of documents."""
    return np.array([jaccard(shingles.of(i), shingles.of(j)) for i, j in pairs], dtype=float)


@dataclass
class NearDuplicates:
    """Verified pairs (i < j, Jaccard >= threshold) and the cluster id of every document."""

    pairs: np.ndarray
    similarity: np.ndarray
    cluster: np.ndarray  # connected components of the pairs; singletons have their own id
    candidates: int

    def cluster_sizes(self) -> np.ndarray:
        return np.bincount(self.cluster)[self.cluster]


def find(shingles: Shingles, threshold: float = 0.8, num_perm: int = 128, seed: int = 1,
         progress: Progress | None = None) -> NearDuplicates:
    """Every pair of documents whose n-gram sets have Jaccard >= ``threshold``
    (with the recall of MinHash LSH, measured by :func:`recall_against_brute_force`)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not 0 < threshold <= 1:
        raise UserError(f"audit.threshold is {threshold}; a Jaccard threshold must be in (0, 1].")
    sig = signatures(shingles, num_perm, seed, progress=progress)
    bands, rows = lsh_bands(num_perm, threshold)
    cand = candidate_pairs(sig, bands, rows)
    sim = exact_jaccard(shingles, cand)
    keep = sim >= threshold - 1e-12
    pairs, sim = cand[keep], sim[keep]
    n = len(shingles)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, cluster = connected_components(graph, directed=False)
    return NearDuplicates(pairs, sim, cluster.astype(np.int64), int(len(cand)))


def _incidence(shingles: Shingles):
    """The documents x distinct n-grams 0/1 matrix (CSR) and the n-gram count per document."""
    from scipy.sparse import csr_matrix

    _, col = np.unique(shingles.hashes, return_inverse=True)
    data = np.ones(len(col), dtype=np.float32)
    matrix = csr_matrix((data, col, shingles.offsets), shape=(len(shingles), int(col.max()) + 1))
    return matrix, np.diff(shingles.offsets)


def brute_force_pairs(shingles: Shingles, rows: np.ndarray, threshold: float,
                      chunk: int = 2000) -> set[tuple[int, int]]:
    """Every pair (i < j) with exact Jaccard >= ``threshold`` where i or j is in ``rows``,
    compared against all documents (sparse intersection counts, no hashing shortcut):
    the reference that the recall of LSH is measured against."""
    matrix, sizes = _incidence(shingles)
    out: set[tuple[int, int]] = set()
    t = matrix.T.tocsr()
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        inter = (matrix[part] @ t).tocoo()
        a, b = part[inter.row], inter.col
        union = sizes[a] + sizes[b] - inter.data
        keep = (inter.data / union >= threshold - 1e-12) & (a != b)
        out.update(zip(np.minimum(a, b)[keep].tolist(), np.maximum(a, b)[keep].tolist()))
    return out


def recall_against_brute_force(shingles: Shingles, found: NearDuplicates, threshold: float,
                               sample: int = 20_000, seed: int = 0) -> dict[str, float | int]:
    """Share of the true near-duplicate pairs (brute-force exact Jaccard) that LSH found.

    With at most ``sample`` documents every pair is checked; otherwise ``sample``
    random documents are each compared with every document, so the estimate is
    unbiased (only pairs touching the sample are counted).
    """
    n = len(shingles)
    rows = np.arange(n) if n <= sample else np.sort(
        np.random.default_rng(seed).choice(n, size=sample, replace=False))
    truth = brute_force_pairs(shingles, rows, threshold)
    got = {(int(i), int(j)) for i, j in found.pairs}
    hit = len(truth & got)
    return {"sample_documents": int(len(rows)), "true_pairs": len(truth), "found_pairs": hit,
            "recall": hit / len(truth) if truth else 1.0}
