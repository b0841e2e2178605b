"""Many languages: temperature sampling and per-language counts.

Multilingual models are trained on a mix of languages whose sizes differ by orders of
magnitude. Temperature sampling (mBERT, XLM-R: Conneau et al. 2020) draws language ``l``
with probability ``p(l) ∝ n_l^α``: ``α = 1`` keeps the mix as found, ``α = 0`` makes it
uniform, values between upsample the tail. Here ``n_l`` is language ``l``'s number of
training characters (the one size every tokenizer agrees on), and sampling keeps the
amount of training text the same: each text (or token block) of language ``l`` gets the
weight ``p(l) / q(l)``, ``q(l)`` being the language's share as found.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def temperature_shares(sizes: dict[str, float], alpha: float) -> dict[str, float]:
    """``p(l) ∝ n_l^α`` over the languages of ``sizes`` (languages of size 0 get 0).

    >>> {k: round(v, 3) for k, v in temperature_shares({"a": 90, "b": 10}, 0.5).items()}
    {'a': 0.75, 'b': 0.25}
    >>> temperature_shares({"a": 90, "b": 10}, 0.0)
    {'a': 0.5, 'b': 0.5}
    """
    powered = {k: (float(v) ** alpha if v > 0 else 0.0) for k, v in sizes.items()}
    total = sum(powered.values()) or 1.0
    return {k: v / total for k, v in powered.items()}


def language_weights(sizes: dict[str, float], alpha: float) -> dict[str, float]:
    """Per language, ``p(l) / q(l)``: how much more (or less) often its material is drawn
    than as found.

    >>> {k: round(v, 3) for k, v in language_weights({"a": 90, "b": 10}, 0.5).items()}
    {'a': 0.833, 'b': 2.5}
    """
    total = sum(sizes.values()) or 1.0
    shares = temperature_shares(sizes, alpha)
    return {k: shares[k] / (v / total) if v > 0 else 0.0 for k, v in sizes.items()}


def characters_by_language(texts: Sequence[str], languages: Sequence[str]) -> dict[str, float]:
    """Characters of each language in ``texts``, languages sorted."""
    frame = pd.DataFrame({"chars": [len(t) for t in texts], "language": list(languages)})
    return {str(k): float(v) for k, v in frame.groupby("language")["chars"].sum().items()}


def resample(texts: Sequence[str], languages: Sequence[str], alpha: float,
             seed: int) -> np.ndarray:
    """Indices of ``texts`` drawn by temperature ``alpha`` (by characters): each text is
    kept ``w`` times on average (``w = p(l) / q(l)``), as ``floor(w)`` copies plus one more
    with probability ``w - floor(w)``; ``alpha = 1`` keeps every text once, in order.

    >>> resample(["aa", "bb", "c"], ["x", "x", "y"], 1.0, 0).tolist()
    [0, 1, 2]
    >>> resample(["aaaa"] * 4 + ["b"], ["x"] * 4 + ["y"], 0.0, 0).tolist().count(4) in (8, 9)
    True
    """
    if alpha == 1.0:
        return np.arange(len(texts))
    weights = language_weights(characters_by_language(texts, languages), alpha)
    w = np.array([weights[str(lang)] for lang in languages])
    rng = np.random.default_rng(seed)
    copies = np.floor(w).astype(np.int64) + (rng.random(len(w)) < w - np.floor(w))
    return np.repeat(np.arange(len(texts)), copies)


def capped_per_language(languages: Sequence[str], cap: int | None, seed: int) -> np.ndarray:
    """Sorted indices of at most ``cap`` texts of each language (all of a smaller one; a
    seeded draw from a larger one): per-language scores cost what the tail needs, not what
    the head holds. ``cap`` None keeps every text.

    >>> capped_per_language(["en", "en", "en", "ga"], 2, 0).tolist()
    [1, 2, 3]
    """
    langs = np.asarray(languages, dtype=object)
    if cap is None:
        return np.arange(len(langs))
    rng, keep = np.random.default_rng(seed), []
    for lang in sorted(set(langs.tolist())):
        idx = np.flatnonzero(langs == lang)
        keep.append(idx if len(idx) <= cap else rng.choice(idx, size=cap, replace=False))
    return np.sort(np.concatenate(keep)) if keep else np.arange(0)


def block_languages(doc_tokens: Sequence[int], languages: Sequence[str], context: int,
                    n_blocks: int) -> np.ndarray:
    """The language of each token block of :func:`greennlp.train.lm.token_blocks`: the
    language of the document its middle token belongs to (``doc_tokens``: tokens of each
    document, without its end-of-text).

    >>> block_languages([3, 3], ["x", "y"], 2, 4).tolist()
    ['x', 'x', 'y', 'y']
    """
    # The stream is <eot> d0 <eot> d1 ... <eot>: document k owns its tokens and the <eot>
    # before it.
    ends = np.cumsum(np.asarray(doc_tokens, dtype=np.int64) + 1)
    middle = np.arange(n_blocks) * context + context // 2
    owner = np.minimum(np.searchsorted(ends, middle, side="right"), len(ends) - 1)
    return np.asarray(languages, dtype=object)[owner]


def block_weights(block_langs: np.ndarray, sizes: dict[str, float], alpha: float) -> np.ndarray:
    """Sampling weight of each block: its language's ``p(l) / q(l)``, with ``q(l)`` the
    language's share of the blocks (so the blocks' mix becomes ``p``)."""
    langs, counts = np.unique(block_langs, return_counts=True)
    found = dict(zip(langs.tolist(), counts.tolist()))
    shares = temperature_shares({k: sizes.get(k, 0.0) for k in found}, alpha)
    per = {k: shares[k] / (found[k] / len(block_langs)) for k in found}
    return np.array([per[k] for k in block_langs.tolist()], dtype=np.float64)


def token_shares(block_langs: np.ndarray, weights: np.ndarray | None) -> dict[str, float]:
    """Each language's share of the training tokens: as found (``weights`` None) or as
    drawn (the expected share under ``weights``)."""
    w = np.ones(len(block_langs)) if weights is None else np.asarray(weights, dtype=float)
    frame = pd.DataFrame({"language": block_langs, "w": w})
    sums = frame.groupby("language")["w"].sum()
    return {str(k): float(v / sums.sum()) for k, v in sums.items()}


def split_counts(splits, column: str = "language") -> dict[str, dict[str, Any]]:
    """Per language and split: texts, characters and words (the datasheet's table)."""
    out: dict[str, dict[str, Any]] = {}
    for name in ("train", "dev", "test"):
        frame = splits[name]
        if column not in frame:
            continue
        texts = frame["text"].astype(str)
        grouped = pd.DataFrame({"language": frame[column].astype(str), "chars": texts.str.len(),
                                "words": texts.str.split().str.len()}).groupby("language")
        for lang, part in grouped:
            entry = out.setdefault(str(lang), {})
            entry[name] = {"texts": int(len(part)), "characters": int(part["chars"].sum()),
                           "words": int(part["words"].sum())}
    return dict(sorted(out.items(), key=lambda kv: -sum(v["texts"] for v in kv[1].values())))


def sampled_train(splits, alpha: float, seed: int):
    """``splits`` with the training rows drawn by temperature ``alpha`` (:func:`resample`);
    the same splits when alpha is 1 or the data has no language column."""
    from greennlp.data.split import Splits

    train = splits.train
    if alpha == 1.0 or "language" not in train:
        return splits
    idx = resample(train["text"].tolist(), train["language"].astype(str).tolist(), alpha, seed)
    return Splits(train.iloc[idx].reset_index(drop=True), splits.dev, splits.test,
                  info=splits.info)


def character_shares(frame: pd.DataFrame) -> dict[str, float]:
    """Each language's share of the characters of ``frame`` (texts and languages)."""
    sizes = characters_by_language(frame["text"].astype(str).tolist(),
                                   frame["language"].astype(str).tolist())
    total = sum(sizes.values()) or 1.0
    return {k: v / total for k, v in sizes.items()}
