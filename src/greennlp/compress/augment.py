"""Extra inputs for distillation: unlabelled in-domain text, else word replacement.

The teacher labels these inputs (soft labels only: they carry no true label), so the
student sees more of the teacher's function than the training set shows (TinyBERT,
Jiao et al. 2020, gains most of its accuracy this way).

* In-domain text (:func:`sentences`): documents of the dataset's own domain, cut into
  sentences of training-snippet length, e.g. the plot summaries of the training movies.
* Word replacement (:func:`replace_words`): TinyBERT replaces each word with probability
  ``p`` by a candidate from BERT's masked LM (single-piece words) or from GloVe
  neighbours (other words). A fine-tuned classifier has no masked-LM head, so the
  candidates here are the nearest whole-word tokens to the word in the teacher's own
  input-embedding space (cosine), TinyBERT's rule for the words its masked LM cannot
  fill; words of several pieces stay as they are.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


def sentences(documents: Sequence[str], min_words: int = 4, max_words: int = 60) -> list[str]:
    """Documents cut into sentences of ``min_words`` to ``max_words`` words.

    >>> sentences(["He runs. She hides in the old house! Why? Nobody knows the answer."])
    ['She hides in the old house!', 'Nobody knows the answer.']
    """
    out = []
    for doc in documents:
        for sent in SENTENCE_END.split(" ".join(str(doc).split())):
            if min_words <= len(sent.split()) <= max_words:
                out.append(sent)
    return out


def _whole_words(vocab: dict[str, int]) -> tuple[list[str], np.ndarray]:
    words = sorted((t for t in vocab if t.isalpha() and len(t) > 1 and t.islower()),
                   key=vocab.get)
    return words, np.array([vocab[w] for w in words])


def neighbours(clf: Any, words: Sequence[str], k: int = 10) -> dict[str, list[str]]:
    """The ``k`` nearest whole-word tokens to each single-token word (cosine similarity
    in ``clf``'s input embeddings); words that are not one token get none."""
    vocab = clf.tokenizer.get_vocab()
    pool, pool_ids = _whole_words(vocab)
    if not pool:
        return {}
    table = clf.model.get_input_embeddings().weight.detach().float().cpu().numpy()
    pool_vecs = table[pool_ids]
    pool_vecs = pool_vecs / np.maximum(np.linalg.norm(pool_vecs, axis=1, keepdims=True), 1e-8)
    asked = sorted({w.lower() for w in words if w.lower() in vocab and w.isalpha()})
    out: dict[str, list[str]] = {}
    for start in range(0, len(asked), 512):
        chunk = asked[start:start + 512]
        vecs = table[[vocab[w] for w in chunk]]
        vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-8)
        sims = vecs @ pool_vecs.T
        top = np.argsort(-sims, axis=1)[:, :k + 1]
        for w, row in zip(chunk, top):
            out[w] = [pool[j] for j in row if pool[j] != w][:k]
    return out


def replace_words(clf: Any, texts: Sequence[str], copies: int = 1, p: float = 0.4,
                  k: int = 10, seed: int = 0) -> list[str]:
    """``copies`` variants of each text with words replaced by embedding neighbours.

    Parameters
    ----------
    clf
        The teacher (its tokenizer's vocabulary and input embeddings are used).
    texts
        Training texts.
    copies
        Variants per text.
    p
        Probability of replacing each word that has neighbours.
    k
        Neighbours to draw from.
    """
    rng = np.random.default_rng(seed)
    split = [t.split() for t in texts]
    table = neighbours(clf, [w for words in split for w in words], k)
    out = []
    for _ in range(copies):
        for words in split:
            new = [rng.choice(table[w.lower()]) if table.get(w.lower()) and rng.random() < p
                   else w for w in words]
            out.append(" ".join(new))
    return out
