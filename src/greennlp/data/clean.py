"""Cleaning: normalise whitespace, drop empty texts, find duplicates and label conflicts."""

from __future__ import annotations

import unicodedata
from typing import Any

import pandas as pd


def normalise_text(text: str) -> str:
    """Unicode NFC and single spaces, stripped.

    >>> normalise_text("  a\\tgood\\n\\nfilm ")
    'a good film'
    """
    return " ".join(unicodedata.normalize("NFC", text).split())


def clean(frame: pd.DataFrame, *, drop_duplicates: bool = True,
          drop_conflicts: bool = True) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Normalise texts and remove empty rows, exact duplicates and label conflicts.

    An exact duplicate is a text that occurs more than once after normalisation. A
    label conflict is a text that occurs with more than one label: its label is
    ambiguous, so all its rows are dropped (when ``drop_conflicts``). Of duplicates
    that agree, the first row is kept (when ``drop_duplicates``).

    Returns
    -------
    (DataFrame, dict)
        The cleaned frame and a report of counts, with a few conflicting texts.
    """
    out = frame.copy()
    out["text"] = [normalise_text(t) for t in out["text"].astype(str)]
    empty = out["text"] == ""
    out = out[~empty]
    counts = out.groupby("text")["label"].agg(["size", "nunique"])
    dup_texts = counts[counts["size"] > 1]
    conflict_texts = counts[counts["nunique"] > 1]
    report: dict[str, Any] = {
        "rows_in": int(len(frame)),
        "empty_dropped": int(empty.sum()),
        "duplicate_texts": int(len(dup_texts)),
        "duplicate_rows": int((dup_texts["size"] - 1).sum()),
        "conflict_texts": int(len(conflict_texts)),
        "conflict_rows": int(conflict_texts["size"].sum()),
        "conflict_examples": [
            {"text": t[:200], "labels": sorted(out.loc[out["text"] == t, "label"].unique().tolist())}
            for t in conflict_texts.index[:5]],
    }
    if drop_conflicts and len(conflict_texts):
        out = out[~out["text"].isin(conflict_texts.index)]
    report["conflict_rows_dropped"] = report["conflict_rows"] if drop_conflicts else 0
    before = len(out)
    if drop_duplicates:
        out = out.drop_duplicates(subset=["text", "label"], keep="first")
    report["duplicate_rows_dropped"] = int(before - len(out))
    report["rows_out"] = int(len(out))
    return out.reset_index(drop=True), report
