"""Cleaning: normalise texts, drop empty ones (nothing visible: zero-width characters count
as empty), find duplicates and label conflicts.

Short texts (classification) become one line each, whitespace collapsed. Running text
(language modelling) keeps its line breaks, which mark turns and paragraphs: only the
spaces inside each line are collapsed and empty lines dropped. Label conflicts exist
only where the data has labels.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import pandas as pd


# a character that shows: neither white space nor an invisible (zero-width, format) one
_VISIBLE = re.compile(r"[^\s\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
                      r"\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff"
                      r"\uffa0]")


def is_blank(text: str) -> bool:
    """Nothing visible: only white space and zero-width or other invisible characters.

    >>> is_blank("\\u200b \\u200d"), is_blank("a\\u200b")
    (True, False)
    """
    return _VISIBLE.search(text) is None


def normalise_text(text: str) -> str:
    """Unicode NFC and single spaces, stripped.

    >>> normalise_text("  a\\tgood\\n\\nfilm ")
    'a good film'
    """
    return " ".join(unicodedata.normalize("NFC", text).split())


def normalise_document(text: str) -> str:
    """NFC, runs of spaces collapsed inside each line, empty lines dropped.

    >>> normalise_document("  hi  there \\n\\n  you ")
    'hi there\\nyou'
    """
    lines = (" ".join(line.split()) for line in unicodedata.normalize("NFC", text).splitlines())
    return "\n".join(line for line in lines if line)


def clean(frame: pd.DataFrame, *, drop_duplicates: bool = True, drop_conflicts: bool = True,
          keep_lines: bool = False) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Normalise texts and remove empty rows, exact duplicates and label conflicts.

    An exact duplicate is a text that occurs more than once after normalisation. A
    label conflict is a text that occurs with more than one label: its label is
    ambiguous, so all its rows are dropped (when ``drop_conflicts``). Of duplicates
    that agree, the first row is kept (when ``drop_duplicates``). ``keep_lines``: the
    texts are running text (:func:`normalise_document`), else :func:`normalise_text`.

    Returns
    -------
    (DataFrame, dict)
        The cleaned frame and a report of counts, with a few conflicting texts when the
        frame has a ``label`` column.
    """
    normalise = normalise_document if keep_lines else normalise_text
    out = frame.copy()
    out["text"] = [normalise(t) for t in out["text"].astype(str)]
    empty = out["text"].map(is_blank)
    out = out[~empty]
    labelled = "label" in out
    counts = (out.groupby("text")["label"].agg(["size", "nunique"]) if labelled
              else out.groupby("text").size().to_frame("size"))
    dup_texts = counts[counts["size"] > 1]
    report: dict[str, Any] = {
        "rows_in": int(len(frame)),
        "empty_dropped": int(empty.sum()),
        "duplicate_texts": int(len(dup_texts)),
        "duplicate_rows": int((dup_texts["size"] - 1).sum()),
    }
    if labelled:
        out = _conflicts(out, counts, drop_conflicts, report)
    before = len(out)
    if drop_duplicates:
        out = out.drop_duplicates(subset=["text", "label"] if labelled else ["text"], keep="first")
    report["duplicate_rows_dropped"] = int(before - len(out))
    report["rows_out"] = int(len(out))
    return out.reset_index(drop=True), report


def _conflicts(out: pd.DataFrame, counts: pd.DataFrame, drop: bool,
               report: dict[str, Any]) -> pd.DataFrame:
    """Count (into ``report``) and, with ``drop``, remove the texts with several labels."""
    conflict_texts = counts[counts["nunique"] > 1]
    report.update(
        conflict_texts=int(len(conflict_texts)),
        conflict_rows=int(conflict_texts["size"].sum()),
        conflict_examples=[
            {"text": t[:200],
             "labels": sorted(out.loc[out["text"] == t, "label"].unique().tolist())}
            for t in conflict_texts.index[:5]])
    if drop and len(conflict_texts):
        out = out[~out["text"].isin(conflict_texts.index)]
    report["conflict_rows_dropped"] = report["conflict_rows"] if drop else 0
    return out
