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


def leakage(splits: Splits) -> dict[str, int]:
    """Dev/test texts that also occur in train, exactly and ignoring case and punctuation;
    when the dataset gave its own splits, test texts that also occur in dev too."""
    train_exact = set(splits.train["text"])
    train_loose = {_loose(t) for t in splits.train["text"]}
    out = {}
    for name in ("dev", "test"):
        texts = splits[name]["text"]
        out[f"{name}_exact_in_train"] = int(texts.isin(train_exact).sum())
        out[f"{name}_loose_in_train"] = int(sum(_loose(t) in train_loose for t in texts))
    if splits.info.get("given"):
        dev_exact, dev_loose = set(splits.dev["text"]), {_loose(t) for t in splits.dev["text"]}
        out["test_exact_in_dev"] = int(splits.test["text"].isin(dev_exact).sum())
        out["test_loose_in_dev"] = int(sum(_loose(t) in dev_loose for t in splits.test["text"]))
    return out


def describe(splits: Splits) -> dict[str, Any]:
    """Statistics of each split and of the whole, for the record and the datasheet."""
    whole = pd.concat([splits[n] for n in SPLIT_NAMES], ignore_index=True)
    per_split = {}
    for name in SPLIT_NAMES:
        frame = splits[name]
        per_split[name] = {"size": int(len(frame)),
                           "labels": {str(k): int(v) for k, v in
                                      frame["label"].value_counts().sort_index().items()}}
    vocab = {w for t in splits.train["text"].str.lower() for w in t.split()}
    return {
        "size": int(len(whole)),
        "labels": {str(k): int(v) for k, v in whole["label"].value_counts().sort_index().items()},
        "length": length_summary(whole["text"]),
        "train_vocabulary_words": len(vocab),
        "splits": per_split,
        "leakage": leakage(splits),
    }
