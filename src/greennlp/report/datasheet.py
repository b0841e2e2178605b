"""The classification datasheet (``templates/classification/datasheet.md.j2``, in the
sections of Gebru et al. (2021), "Datasheets for Datasets"): its context, from the data
section of the run record."""

from __future__ import annotations

from typing import Any

from greennlp.record import RunRecord
from greennlp.report.cards import datasheet_base


def describe_given(info: dict) -> str:
    """One datasheet sentence: which splits the dataset gave and which greennlp made.

    >>> describe_given({"given": {"train": "file a.csv", "test": "file b.csv"}, "made": ["dev"],
    ...                 "method": "stratified", "dev_fraction": 0.1, "seed": 0})
    'Given by the dataset: train (file a.csv), test (file b.csv); made by greennlp from the training data: dev (stratified, data.dev_fraction 0.1, seed 0).'
    """
    given = ", ".join(f"{n} ({src})" for n, src in info.get("given", {}).items())
    made = ", ".join(f"{n} ({info['method']}, data.{n}_fraction {info[f'{n}_fraction']:g}, "
                     f"seed {info['seed']})"
                     for n in info.get("made", []))
    return (f"Given by the dataset: {given}" + (f"; made by greennlp from the training data: "
                                                f"{made}" if made else "; nothing made") + ".")


def _labels(stats: dict) -> list[dict[str, Any]]:
    """One row per label: its count and share overall, and its count in each split."""
    splits, size = stats.get("splits", {}), max(1, stats.get("size", 1))
    return [{"label": lab, "total": stats["labels"][lab], "share": stats["labels"][lab] / size,
             "splits": [splits[s]["labels"].get(lab, 0) for s in splits]}
            for lab in sorted(stats.get("labels", {}))]


def datasheet_context(record: RunRecord) -> dict[str, Any]:
    """What ``classification/datasheet.md.j2`` writes about a classification run's data."""
    base = datasheet_base(record, "User-provided dataset.", "text classification")
    if base["data"] is None:
        return base
    d = record.data
    st, sp = d.get("stats", {}), d.get("split", {})
    return {**base, "cleaning": d.get("cleaning", {}), "split": sp, "stats": st,
            "leak": st.get("leakage", {}), "lines": d.get("lines") or {},
            "given": describe_given(sp) if sp.get("given") else None,
            "labels": _labels(st), "splits": st.get("splits", {}),
            "length_columns": ("mean", "min", "p25", "median", "p75", "p95", "max")}
