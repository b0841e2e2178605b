"""Dataset statistics for the datasheet: sizes, labels, lengths, vocabulary, leakage."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from greennlp.data.split import SPLIT_NAMES, Splits

_PUNCT = re.compile(r"[^\w\s]")


def length_summary(texts: pd.Series) -> dict[str, dict[str, float]]:
    """Quantiles of text length in words and characters."""
    out = {}
    for unit, lengths in (("words", texts.str.split().str.len()), ("chars", texts.str.len())):
        arr = lengths.to_numpy(dtype=float)
        qs = np.percentile(arr, [0, 25, 50, 75, 95, 100]) if len(arr) else [0.0] * 6
        out[unit] = {"mean": float(arr.mean()) if len(arr) else 0.0,
                     **{k: float(v) for k, v in zip(("min", "p25", "median", "p75", "p95", "max"), qs)}}
    return out


def _loose(text: str) -> str:
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def _keys(texts: list[str]) -> tuple[set[str], set[str]]:
    """The texts as written, and ignoring case and punctuation."""
    return set(texts), {_loose(t) for t in texts}


def _shared(texts: list[str], keys: tuple[set[str], set[str]]) -> tuple[int, int]:
    """How many of ``texts`` occur among ``keys``: exactly, and ignoring case and punctuation."""
    exact, loose = keys
    return sum(t in exact for t in texts), sum(_loose(t) in loose for t in texts)


def leakage(splits: Splits) -> dict[str, int]:
    """Dev/test texts that also occur in train, exactly and ignoring case and punctuation;
    when the dataset gave its own splits, test texts that also occur in dev too."""
    train, out = _keys(splits.texts("train")), {}
    for name in ("dev", "test"):
        out[f"{name}_exact_in_train"], out[f"{name}_loose_in_train"] = _shared(
            splits.texts(name), train)
    if splits.info.get("given"):
        out["test_exact_in_dev"], out["test_loose_in_dev"] = _shared(
            splits.texts("test"), _keys(splits.texts("dev")))
    return out


def _counts(labels: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in labels.value_counts().sort_index().items()}


def describe(splits: Splits, *, case_kept: bool = False) -> dict[str, Any]:
    """Statistics of each split and of the whole, for the record and the datasheet: rows
    (``size``), characters and words per split, labels when the data has them, lengths,
    the training vocabulary (lower-cased unless ``case_kept``: running text is described
    as written) and leakage.
    """
    whole = pd.concat([splits[n] for n in SPLIT_NAMES], ignore_index=True)
    labelled = "label" in whole
    per_split = {}
    for name in SPLIT_NAMES:
        texts = splits.texts(name)
        per_split[name] = {"size": len(texts), "characters": int(sum(map(len, texts))),
                           "words": int(sum(len(t.split()) for t in texts))}
        if labelled:
            per_split[name]["labels"] = _counts(splits[name]["label"])
    train = splits.texts("train")
    vocab = {w for t in train for w in (t if case_kept else t.lower()).split()}
    return {
        "size": int(len(whole)),
        **({"labels": _counts(whole["label"])} if labelled else {}),
        "length": length_summary(whole["text"].astype("string")),
        "train_vocabulary_words": len(vocab),
        "splits": per_split,
        "leakage": leakage(splits),
    }
