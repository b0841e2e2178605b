"""Near-duplicate search at scale: greennlp's vectorised MinHash + LSH against datasketch.

A synthetic corpus (seeded): ``--docs`` documents of 60 words drawn from a Zipf
vocabulary of 50,000 words, of which ``--planted`` (a share) are copies of another
document with one word changed (Jaccard of word 5-gram sets about 0.84, above the 0.8
threshold) or two (about 0.7, mostly below). Reported:

- greennlp: documents per second for the whole search (shingling, signatures, LSH,
  exact Jaccard check of every candidate), at ``--docs``;
- recall against the planted pairs whose exact Jaccard is >= the threshold, and against
  brute force (``--sample`` random documents each compared with every document);
- datasketch 2.0 (``MinHash.bulk`` + ``MinHashLSH`` insert and query, the same 128
  permutations and threshold) on the first ``--datasketch-docs`` documents, documents
  per second, and the ratio.

Run: ``python benchmarks/minhash_scale.py --docs 1000000`` (the default is 100,000).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from greennlp.data import near_duplicates as nd


def corpus(n: int, planted: float, seed: int) -> tuple[list[str], np.ndarray]:
    """Documents and the planted (original, copy) pairs."""
    rng = np.random.default_rng(seed)
    n_copies = int(n * planted)
    n_orig = n - n_copies
    ids = np.minimum(rng.zipf(1.1, size=(n_orig, 60)), 50_000)
    docs = [" ".join(f"w{x}" for x in row) for row in ids]
    src = rng.integers(0, n_orig, n_copies)
    pairs = []
    for k, s in enumerate(src):
        row = ids[s].copy()
        for pos in rng.choice(60, size=rng.integers(1, 3), replace=False):
            row[pos] = rng.integers(1, 50_000)
        docs.append(" ".join(f"w{x}" for x in row))
        pairs.append((int(s), n_orig + k))
    order = rng.permutation(n)  # copies spread through the corpus (and any prefix of it)
    where = np.empty(n, dtype=np.int64)
    where[order] = np.arange(n)
    return [docs[i] for i in order], where[np.array(pairs)]


def ours(docs: list[str], threshold: float, ngram: int
         ) -> tuple[float, float, nd.Shingles, nd.NearDuplicates]:
    """Wall and CPU seconds of the whole search (CPU time: the machine may be shared)."""
    t0, c0 = time.perf_counter(), time.process_time()
    sh = nd.shingle(docs, ngram)
    found = nd.find(sh, threshold)
    return time.perf_counter() - t0, time.process_time() - c0, sh, found


def datasketch_search(docs: list[str], threshold: float, ngram: int) -> tuple[float, int]:
    from datasketch import MinHash, MinHashLSH

    t0, c0 = time.perf_counter(), time.process_time()
    grams = [[" ".join(w[i:i + ngram]).encode() for i in range(len(w) - ngram + 1)]
             for w in (d.lower().split() for d in docs)]
    hashes = MinHash.bulk(grams, num_perm=128)
    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    pairs = 0
    for i, m in enumerate(hashes):
        pairs += len(lsh.query(m))
        lsh.insert(i, m)
    return time.perf_counter() - t0, time.process_time() - c0, pairs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--planted", type=float, default=0.05)
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--ngram", type=int, default=5)
    ap.add_argument("--sample", type=int, default=500)
    ap.add_argument("--datasketch-docs", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    docs, planted = corpus(args.docs, args.planted, args.seed)
    seconds, cpu_s, sh, found = ours(docs, args.threshold, args.ngram)
    truth_planted = planted[nd.exact_jaccard(sh, planted) >= args.threshold]
    got = {(int(i), int(j)) for i, j in found.pairs}
    planted_recall = np.mean([(min(a, b), max(a, b)) in got for a, b in truth_planted])
    t0 = time.perf_counter()
    brute = nd.recall_against_brute_force(sh, found, args.threshold, sample=args.sample,
                                          seed=args.seed)
    brute_s = time.perf_counter() - t0

    k = min(args.datasketch_docs, len(docs))
    ours_k, ours_k_cpu = ours(docs[:k], args.threshold, args.ngram)[:2]
    ds_s, ds_cpu, ds_pairs = datasketch_search(docs[:k], args.threshold, args.ngram)
    print(json.dumps({
        "documents": args.docs, "words_per_document": 60, "planted_pairs": int(len(planted)),
        "planted_pairs_at_or_above_threshold": int(len(truth_planted)),
        "greennlp_seconds": round(seconds, 2), "greennlp_cpu_seconds": round(cpu_s, 2),
        "greennlp_docs_per_s": round(args.docs / seconds),
        "greennlp_docs_per_cpu_s": round(args.docs / cpu_s),
        "near_duplicate_pairs": int(len(found.pairs)), "candidate_pairs": found.candidates,
        "recall_planted": round(float(planted_recall), 4),
        "recall_brute_force": brute, "brute_force_seconds": round(brute_s, 1),
        "side_by_side_documents": k,
        "greennlp_docs_per_s_side_by_side": round(k / ours_k),
        "datasketch_docs_per_s": round(k / ds_s), "datasketch_candidate_pairs": ds_pairs,
        "speedup_vs_datasketch": round(ds_s / ours_k, 1),
        "speedup_vs_datasketch_cpu": round(ds_cpu / ours_k_cpu, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
