"""Perplexity and bits per character with bootstrap intervals over documents.

Every model reports the total negative log-likelihood (nats) of each evaluation
document, its end-of-text included; with the document's token count and character
count (its length plus one for the end, like a line's newline) that gives

* perplexity = exp(total NLL / total tokens): comparable only between models that
  share a tokenization;
* bits per character = total NLL / ln 2 / total characters: comparable across
  tokenizations, since every model pays for exactly the same text.

The interval resamples units with replacement and recomputes each ratio of sums on each
resample (percentile interval). A unit is a document when documents are scored alone,
and a block of neighbouring documents (:func:`text_blocks`) when the text is scored as
one stream, since then a document's score depends on the text before it.

>>> import numpy as np
>>> s = lm_scores(np.log(8.0) * np.array([3.0, 5.0]), np.array([3, 5]), np.array([6, 10]),
...               n_samples=100)
>>> round(s["perplexity"]["value"], 6), round(s["bits_per_char"]["value"], 6)
(8.0, 1.5)
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def document_chars(texts: Sequence[str]) -> np.ndarray:
    """Characters each document is scored on: its length plus one for its end."""
    return np.array([len(t) + 1 for t in texts], dtype=np.int64)


def text_blocks(chars: np.ndarray, block_chars: int) -> np.ndarray:
    """Block number of each document: runs of neighbouring documents, each run closed
    once it holds at least ``block_chars`` characters.

    >>> text_blocks(np.array([5, 5, 5, 20, 1]), 10).tolist()
    [0, 0, 1, 1, 2]
    """
    ids, block, filled = np.zeros(len(chars), dtype=np.int64), 0, 0
    for i, c in enumerate(chars):
        ids[i] = block
        filled += int(c)
        if filled >= block_chars:
            block, filled = block + 1, 0
    return ids


def per_block(values: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """Sums of per-document ``values`` within each block of :func:`text_blocks`."""
    return np.bincount(blocks, weights=np.asarray(values, dtype=np.float64))


def _ci(point: float, boot: np.ndarray, confidence: float) -> dict[str, float]:
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(boot, [alpha, 1.0 - alpha])
    return {"value": float(point), "low": float(low), "high": float(high)}


def lm_scores(nll_nats: np.ndarray, n_tokens: np.ndarray, n_chars: np.ndarray | None, *,
              n_samples: int = 1000, confidence: float = 0.95, seed: int = 0
              ) -> dict[str, dict[str, float]]:
    """Perplexity, cross-entropy (nats/token) and bits per character, each with a CI.

    Parameters
    ----------
    nll_nats, n_tokens, n_chars
        Per document: total NLL in nats, tokens predicted, characters (None leaves
        bits per character out, e.g. for a masked LM, which does not predict the text).
    """
    nll = np.asarray(nll_nats, dtype=np.float64)
    tokens = np.asarray(n_tokens, dtype=np.float64)
    chars = None if n_chars is None else np.asarray(n_chars, dtype=np.float64)
    rng = np.random.default_rng(seed)
    boot = np.zeros((3, n_samples))  # NLL, tokens and characters of each resample
    for b in range(n_samples):
        counts = np.bincount(rng.integers(0, len(nll), len(nll)), minlength=len(nll))
        boot[:, b] = counts @ nll, counts @ tokens, 0.0 if chars is None else counts @ chars
    xent = nll.sum() / tokens.sum()
    out = {"cross_entropy_nats": _ci(xent, boot[0] / boot[1], confidence),
           "perplexity": _ci(math.exp(xent), np.exp(boot[0] / boot[1]), confidence)}
    if chars is not None:
        out["bits_per_char"] = _ci(nll.sum() / math.log(2) / chars.sum(),
                                   boot[0] / math.log(2) / boot[2], confidence)
    return out
