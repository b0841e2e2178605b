"""greennlp's Kneser-Ney n-gram model against nltk's, side by side (nltk is optional).

Same tokens for both: a Zipf-distributed synthetic corpus (seeded) of ``--train-tokens``
training tokens in documents of 20 tokens; each model is fitted and then scores
``--score-tokens`` held-out tokens, timed separately (one run each: nltk is far too slow
to repeat). Reports tokens per second and the ratio. nltk's model is interpolated
Kneser-Ney with one discount (0.1) and no modified discounts, so the perplexities differ
a little; the point is the cost of computing them.

Run: ``pip install nltk && python benchmarks/kneser_ney.py [--order 4]``
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

from greennlp.models.ngram import KneserNeyLM


def corpus(n_tokens: int, vocab: int, seed: int) -> list[list[int]]:
    """Documents of 20 token ids in 2..vocab-1, Zipf-distributed (0 is the end token)."""
    rng = np.random.default_rng(seed)
    ids = np.minimum(rng.zipf(1.2, n_tokens), vocab - 2) + 1
    return [ids[i:i + 20].tolist() for i in range(0, n_tokens, 20)]


def ours(train, test, order, vocab):
    t0 = time.perf_counter()
    lm = KneserNeyLM(order).fit(train, vocab, 0)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    nll = lm.document_nll(test).sum()
    return fit_s, time.perf_counter() - t0, nll


def nltk_kn(train, test, order):
    from nltk.lm import KneserNeyInterpolated
    from nltk.lm.preprocessing import pad_both_ends, padded_everygram_pipeline

    text = [[str(t) for t in d] for d in train]
    t0 = time.perf_counter()
    grams, vocab = padded_everygram_pipeline(order, text)
    lm = KneserNeyInterpolated(order)
    lm.fit(grams, vocab)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    nll = 0.0
    for doc in test:
        padded = list(pad_both_ends([str(t) for t in doc], n=order))
        for i in range(order - 1, len(padded)):
            p = lm.score(padded[i], padded[i - order + 1:i])
            nll -= math.log(p) if p > 0 else math.log(1e-12)
    return fit_s, time.perf_counter() - t0, nll


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--order", type=int, default=4)
    parser.add_argument("--vocab", type=int, default=4096)
    parser.add_argument("--train-tokens", type=int, default=200_000)
    parser.add_argument("--score-tokens", type=int, default=2_000)
    args = parser.parse_args()
    train = corpus(args.train_tokens, args.vocab, 0)
    test = corpus(args.score_tokens, args.vocab, 1)
    n_scored = sum(len(d) + 1 for d in test)
    out = {"order": args.order, "train_tokens": args.train_tokens, "scored_tokens": n_scored}
    fit_s, score_s, nll = ours(train, test, args.order, args.vocab)
    out["greennlp"] = {"fit_s": round(fit_s, 3), "score_s": round(score_s, 4),
                       "score_tokens_per_s": round(n_scored / score_s),
                       "perplexity": round(math.exp(nll / n_scored), 1)}
    try:
        fit_s, score_s, nll = nltk_kn(train, test, args.order)
    except ImportError:
        out["nltk"] = "not installed"
    else:
        out["nltk"] = {"fit_s": round(fit_s, 3), "score_s": round(score_s, 2),
                       "score_tokens_per_s": round(n_scored / score_s, 1),
                       "perplexity": round(math.exp(nll / n_scored), 1)}
        out["scoring_speedup"] = round(out["greennlp"]["score_tokens_per_s"]
                                       / out["nltk"]["score_tokens_per_s"])
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
