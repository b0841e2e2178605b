"""Interpolated modified Kneser-Ney n-gram language model (Chen & Goodman 1998), in numpy.

Why our own: nltk's ``KneserNeyInterpolated`` (not a dependency) recomputes every
probability recursively from Python dicts: it scored 55 tokens/s against this module's
~940,000 in ``benchmarks/kneser_ney.py`` (order 4, 100k training tokens), i.e. ~40 minutes
for our test split; it has one discount, not modified Kneser-Ney's three. KenLM needs a
C++ build. Here every n-gram is an integer id: the id of an order-``j`` gram is its rank
among the sorted keys ``id(prefix (j-1)-gram) * V + last token``, so counting is
``np.unique`` and look-up is ``np.searchsorted``, whatever the order or vocabulary: the
default corpus (1.2M tokens) trains in about 5 s.

Probabilities, for order ``j`` with context ``h`` and its shortened context ``h'``::

    P_j(w | h) = max(c_j(h w) - D_j(c), 0) / c_j(h .) + gamma_j(h) P_{j-1}(w | h')
    gamma_j(h) = (D_j1 N1(h .) + D_j2 N2(h .) + D_j3+ N3+(h .)) / c_j(h .)

``c_n`` are raw counts at the highest order and continuation counts (distinct left
neighbours) below it; ``P_0`` is uniform over the vocabulary; a context never seen as
such leaves the lower-order estimate unchanged. The discounts come from the counts of
counts of each order (Chen & Goodman's estimates), or are one fixed ``discount`` (the
original interpolated Kneser-Ney). ``order=0`` is the uniform model, a reference whose
perplexity is the vocabulary size. Each document is padded with ``order - 1``
end-of-text tokens on the left and predicts one at its end. A model fitted on running
text (:meth:`KneserNeyLM.fit_stream`: the training documents joined by end-of-text tokens,
the stream the neural models train on) pads a document with one end-of-text token when
it is scored alone, the context it saw at every document start.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from greennlp.models.checkpoints import META_NAME, write_folder

MODEL_FILE = "ngram.npz"


def _padded_stream(docs: Sequence[Sequence[int]], pad: int, eos: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenated documents, each after ``pad`` end-of-text tokens; position within the
    document; predicted mask."""
    lengths = np.array([len(d) + pad + 1 for d in docs], dtype=np.int64)
    stream = np.full(int(lengths.sum()), eos, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    for start, doc in zip(starts, docs):
        stream[start + pad:start + pad + len(doc)] = doc
    offset = np.arange(len(stream)) - np.repeat(starts, lengths)
    return stream, offset, offset >= pad


def _discounts(counts: np.ndarray, fixed: float | None) -> np.ndarray:
    """D for counts 0, 1, 2, 3+ (Chen & Goodman 1998, eq. 26), clipped to [0, count]."""
    if fixed is not None:
        return np.array([0.0, fixed, fixed, fixed])
    r = [int(np.sum(counts == k)) for k in (1, 2, 3, 4)]
    y = r[0] / (r[0] + 2 * r[1]) if r[0] + 2 * r[1] else 0.5
    d = [0.0]
    for k in (1, 2, 3):
        d.append(k - (k + 1) * y * r[k] / r[k - 1] if r[k - 1] else (d[-1] or 0.5))
    return np.clip(np.array(d), 0.0, [0, 1, 2, 3])


class KneserNeyLM:
    """Interpolated modified Kneser-Ney LM over token ids.

    Parameters
    ----------
    order
        n of the n-gram (0 = uniform, 1 = unigram with Kneser-Ney continuation counts).
    discount
        A fixed discount in (0, 1]; None estimates three discounts per order.
    """

    family = "ngram"

    def __init__(self, order: int = 4, discount: float | None = None) -> None:
        self.order, self.discount = order, discount
        self.pad_ = max(order - 1, 0)

    # -- fitting ------------------------------------------------------------------
    def fit(self, docs: Sequence[Sequence[int]], vocab_size: int, eos_id: int,
            exclude: Sequence[int] = ()) -> KneserNeyLM:
        """Count n-grams of ``docs`` (lists of token ids) and set the discounts."""
        self.vocab_size_, self.eos_id_ = vocab_size, eos_id
        self.excluded_ = np.array(sorted(set(exclude) - {eos_id}), dtype=np.int64)
        self.n_vocab_ = vocab_size - len(self.excluded_)
        stream, offset, predicted = _padded_stream(docs, self.pad_, eos_id)
        ids = self._gram_ids(stream, offset, fit=True)
        self.counts_, self.discounts_, self.context_stats_ = [], [], []
        for j in range(1, self.order + 1):
            counts = self._order_counts(ids, j, predicted)
            contexts = self.keys_[j] // vocab_size if j > 1 else np.zeros(vocab_size, np.int64)
            n_contexts = len(self.keys_[j - 1]) if j > 2 else (vocab_size if j == 2 else 1)
            d = _discounts(counts[counts > 0], self.discount)
            stats = [np.bincount(contexts, weights=w, minlength=n_contexts) for w in
                     (counts, counts == 1, counts == 2, counts >= 3)]
            self.counts_.append(counts)
            self.discounts_.append(d)
            self.context_stats_.append(np.stack(stats))
        self.tokens_trained_ = int(predicted.sum())
        return self

    def fit_stream(self, docs: Sequence[Sequence[int]], vocab_size: int, eos_id: int,
                   exclude: Sequence[int] = ()) -> KneserNeyLM:
        """Count n-grams of the running text ``<eot> doc <eot> doc ... <eot>``: contexts
        cross document ends, as in the blocks the neural models train on."""
        joined = [t for d in docs for t in (*d, eos_id)][:-1] if docs else []
        self.pad_ = min(1, self.order - 1) if self.order else 0
        return self.fit([joined], vocab_size, eos_id, exclude)

    def stream_log_probs(self, docs: Sequence[Sequence[int]]) -> list[np.ndarray]:
        """Log-probabilities of each document's tokens and end, the documents scored as
        running text (each with the text before it as context)."""
        joined = [t for d in docs for t in (*d, self.eos_id_)][:-1] if docs else []
        pad, self.pad_ = self.pad_, min(1, self.order - 1) if self.order else 0
        try:
            logp = self.token_log_probs([joined])[0]
        finally:
            self.pad_ = pad
        return np.split(logp, np.cumsum([len(d) + 1 for d in docs])[:-1])

    def _order_counts(self, ids: list, j: int, predicted: np.ndarray) -> np.ndarray:
        size = len(self.keys_[j]) if j > 1 else self.vocab_size_
        # grams that would cross the start of the text (padded with fewer than order - 1
        # end-of-text tokens, as running text is) do not exist: id -1, not counted
        if j == self.order:
            grams = ids[j][predicted]
            return np.bincount(grams[grams >= 0], minlength=size).astype(np.float64)
        longer, grams = ids[j + 1][predicted], ids[j][predicted]
        keep = longer >= 0
        _, first = np.unique(longer[keep], return_index=True)
        return np.bincount(grams[keep][first], minlength=size).astype(np.float64)

    def _gram_ids(self, stream: np.ndarray, offset: np.ndarray, fit: bool = False) -> list:
        """``ids[j][p]``: id of the j-gram ending at position p, or -1 (unseen / crosses
        the document start). With ``fit`` the key tables are built from ``stream``."""
        v = self.vocab_size_
        ids: list = [None, stream.copy()]
        if fit:
            self.keys_ = [np.zeros(1, np.int64), np.arange(v, dtype=np.int64)]
        for j in range(2, self.order + 1):
            prev = np.concatenate([[-1], ids[j - 1][:-1]])
            valid = (offset >= j - 1) & (prev >= 0)
            keys = np.where(valid, prev * v + stream, -1)
            if fit:
                self.keys_.append(np.unique(keys[valid]))
            table = self.keys_[j]
            pos = np.clip(np.searchsorted(table, keys), 0, max(len(table) - 1, 0))
            found = valid & (table[pos] == keys) if len(table) else np.zeros_like(valid)
            ids.append(np.where(found, pos, -1))
        return ids

    # -- probabilities ------------------------------------------------------------------
    def _interpolate(self, j: int, ctx: np.ndarray, gram: np.ndarray, lower: np.ndarray
                     ) -> np.ndarray:
        total, n1, n2, n3 = (s[np.maximum(ctx, 0)] for s in self.context_stats_[j - 1])
        seen = (ctx >= 0) & (total > 0)
        c = np.where(gram >= 0, self.counts_[j - 1][np.maximum(gram, 0)], 0.0)
        d = self.discounts_[j - 1]
        disc = d[np.minimum(c, 3).astype(np.int64)]
        gamma = (d[1] * n1 + d[2] * n2 + d[3] * n3) / np.where(seen, total, 1.0)
        mixed = np.maximum(c - disc, 0.0) / np.where(seen, total, 1.0) + gamma * lower
        return np.where(seen, mixed, lower)

    def token_log_probs(self, docs: Sequence[Sequence[int]]) -> list[np.ndarray]:
        """Natural-log probability of every token of each document and of its end."""
        stream, offset, predicted = _padded_stream(docs, self.pad_, self.eos_id_)
        ids = self._gram_ids(stream, offset)
        prob = np.full(len(stream), 1.0 / self.n_vocab_)
        for j in range(1, self.order + 1):
            ctx = np.zeros(len(stream), np.int64) if j == 1 else \
                np.concatenate([[-1], ids[j - 1][:-1]])
            prob = self._interpolate(j, ctx, ids[j], prob)
        prob[np.isin(stream, self.excluded_)] = 0.0
        logp = np.log(prob[predicted])
        return np.split(logp, np.cumsum([len(d) + 1 for d in docs])[:-1])

    def document_nll(self, docs: Sequence[Sequence[int]]) -> np.ndarray:
        """Total negative log-likelihood (nats) of each document, its end included."""
        return np.array([-lp.sum() for lp in self.token_log_probs(docs)])

    def distribution(self, context: Sequence[int]) -> np.ndarray:
        """P(w | context) for every token id w (the padding is added as in training)."""
        v = self.vocab_size_
        keep = max(self.order - 1, 0)
        history = ([self.eos_id_] * self.pad_ + list(context))[-keep:] if keep else []
        stream = np.array(history + [0], dtype=np.int64)
        offset = np.arange(len(stream))
        ids = self._gram_ids(stream, offset)
        prob = np.full(v, 1.0 / self.n_vocab_)
        words = np.arange(v, dtype=np.int64)
        for j in range(1, self.order + 1):
            ctx_id = 0 if j == 1 else int(ids[j - 1][-2]) if len(stream) >= j else -1
            gram = words if j == 1 else self._lookup(j, ctx_id, words)
            prob = self._interpolate(j, np.full(v, ctx_id), gram, prob)
        prob[self.excluded_] = 0.0
        return prob

    def _lookup(self, j: int, ctx_id: int, words: np.ndarray) -> np.ndarray:
        if ctx_id < 0 or not len(self.keys_[j]):
            return np.full(len(words), -1)
        keys, table = ctx_id * self.vocab_size_ + words, self.keys_[j]
        pos = np.clip(np.searchsorted(table, keys), 0, len(table) - 1)
        return np.where(table[pos] == keys, pos, -1)

    # -- accounting and persistence ---------------------------------------------------------
    def parameter_counts(self) -> dict[str, int]:
        """Stored n-grams with a non-zero count (the model's size), all 'non-embedding'."""
        total = int(sum(int(np.count_nonzero(c)) for c in self.counts_))
        return {"total": total, "embedding": 0, "non_embedding": total}

    def save(self, folder: Path, tokenizer: Any = None) -> Path:
        """The counts (compressed numpy arrays: integers, mostly small) and what rebuilds
        the model, with ``tokenizer`` when given, by the one model-folder writer."""
        meta = {"family": self.family, "order": self.order, "discount": self.discount,
                "vocab_size": self.vocab_size_, "eos_id": self.eos_id_, "pad": self.pad_,
                "tokens_trained": self.tokens_trained_}
        return write_folder(folder, meta, tokenizer=tokenizer, files=self._write_counts)

    def _write_counts(self, folder: Path) -> None:
        arrays = {f"keys_{j}": k for j, k in enumerate(self.keys_)}
        for j in range(self.order):
            arrays.update({f"counts_{j}": self.counts_[j], f"stats_{j}": self.context_stats_[j],
                           f"discounts_{j}": self.discounts_[j]})
        np.savez_compressed(folder / MODEL_FILE, excluded=self.excluded_, **arrays)

    @classmethod
    def load(cls, folder: Path) -> KneserNeyLM:
        folder = Path(folder)
        meta = json.loads((folder / META_NAME).read_text())
        obj = cls(meta["order"], meta["discount"])
        obj.vocab_size_, obj.eos_id_ = meta["vocab_size"], meta["eos_id"]
        obj.tokens_trained_ = meta["tokens_trained"]
        obj.pad_ = meta.get("pad", max(obj.order - 1, 0))  # saved before stream training
        with np.load(folder / MODEL_FILE) as z:
            obj.excluded_ = z["excluded"]
            obj.keys_ = [z[f"keys_{j}"] for j in range(max(obj.order, 1) + 1)]
            obj.counts_ = [z[f"counts_{j}"] for j in range(obj.order)]
            obj.context_stats_ = [z[f"stats_{j}"] for j in range(obj.order)]
            obj.discounts_ = [z[f"discounts_{j}"] for j in range(obj.order)]
        obj.n_vocab_ = obj.vocab_size_ - len(obj.excluded_)
        return obj


class NgramLM:
    """A :class:`KneserNeyLM` with its tokenizer: scores and samples raw text."""

    family = "ngram"

    def __init__(self, kn: KneserNeyLM, tokenizer) -> None:
        self.kn, self.tokenizer = kn, tokenizer

    def score_texts(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """NLL in nats and tokens predicted, per document (its end included)."""
        ids = self.tokenizer.encode(list(texts))
        return self.kn.document_nll(ids), np.array([len(d) + 1 for d in ids])

    def score_stream(self, texts: Sequence[str], window: int, stride: int
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Per document, the documents scored as running text. An n-gram reads only its
        last ``order - 1`` tokens, so any window longer than that gives the same numbers."""
        ids = self.tokenizer.encode(list(texts))
        self.last_window = (window, stride)
        return (np.array([-lp.sum() for lp in self.kn.stream_log_probs(ids)]),
                np.array([len(d) + 1 for d in ids]))

    def generate(self, prompt: str, *, max_new_tokens: int = 40, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, seed: int = 0) -> str:
        """Sample a continuation token by token from the n-gram distribution."""
        import torch

        from greennlp.models.sampling import next_token

        gen = torch.Generator().manual_seed(seed)
        ids, new = self.tokenizer.encode([prompt])[0], []
        for _ in range(max_new_tokens):
            with np.errstate(divide="ignore"):  # never-predicted ids: log 0 = -inf logit
                logits = torch.from_numpy(np.log(self.kn.distribution(ids + new)))[None]
            token = int(next_token(logits, temperature=temperature, top_k=top_k, top_p=top_p,
                                   generator=gen)[0])
            if token == self.kn.eos_id_:
                break
            new.append(token)
        return self.tokenizer.decode(new)

    def parameter_counts(self) -> dict[str, int]:
        return self.kn.parameter_counts()

    def save(self, folder: Path) -> Path:
        return self.kn.save(folder, self.tokenizer)

    @classmethod
    def load(cls, folder: Path) -> NgramLM:
        from greennlp.models.lm_tokenizer import LmTokenizer

        return cls(KneserNeyLM.load(folder), LmTokenizer.load(Path(folder) / "tokenizer.json"))
