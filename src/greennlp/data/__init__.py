"""Data: sources, cleaning, splits, duplicates/leakage and statistics.

:func:`prepare` runs the whole data stage of every task: load, clean, subsample, split,
describe. What differs between tasks is what they need of the data, which the task
says: a label column (classification) or not, and short texts (one line each) or
running text (line breaks and case kept: language modelling).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from greennlp.data.clean import clean
from greennlp.data.given import complete_splits
from greennlp.data.languages import split_counts
from greennlp.data.sources import RawData, load_raw
from greennlp.data.split import (Splits, check_class_sizes, make_splits, resolve_method,
                                 subsample)
from greennlp.data.stats import describe
from greennlp.errors import UserError

MIN_UNLABELLED = 30  # documents: fewer cannot give three splits worth scoring


def prepare(cfg, seed: int, keep: tuple[str, ...] = (), *, labels: bool = True,
            running_text: bool = False) -> tuple[Splits, dict[str, Any]]:
    """Load, clean and split the dataset of a :class:`~greennlp.config.DataConfig`.

    Parameters
    ----------
    cfg
        The ``data`` section.
    seed
        Seeds the subsample and the split.
    keep
        Further columns of the source to carry along (slices, groups).
    labels
        The task needs a label column (classification); without, the texts alone.
    running_text
        The texts are running text: line breaks kept (NFC and spaces collapsed inside
        lines), the vocabulary counted as written; else each text becomes one line.

    Returns
    -------
    (Splits, dict)
        The splits and the data section of the run record (origin, license, cleaning
        report, split method, statistics).
    """
    raw = load_raw(cfg, keep, labels=labels)
    options = dict(drop_duplicates=cfg.drop_duplicates, drop_conflicts=cfg.drop_conflicts,
                   keep_lines=running_text)
    frame, cleaning = clean(raw.frame, **options)
    _check_enough(frame, cfg, raw, cleaning)
    blocks = cfg.block_documents if resolve_method(cfg.split, frame) == "blocks" else None
    if labels and cfg.max_examples and len(frame) > cfg.max_examples:
        check_class_sizes(frame, cfg.min_per_class)
    if raw.given:  # the dataset's own dev / test: cleaned alike, used as given
        frame = subsample(frame, cfg.max_examples, seed, cfg.min_per_class, blocks)
        given, given_cleaning = {}, {}
        for name, part in raw.given.items():
            part, given_cleaning[name] = clean(part, **options)
            if len(part) == 0:
                raise UserError(f"The given {name} split ({raw.meta['given_from'][name]}) has no "
                                f"rows left after cleaning; give it non-empty texts.")
            given[name] = subsample(part, cfg.max_examples, seed, 0, blocks)
        splits = complete_splits(frame, given, raw.meta["given_from"], cfg, seed)
    else:
        if not blocks:  # a block split keeps data.max_examples rows in whole blocks itself
            frame = subsample(frame, cfg.max_examples, seed, cfg.min_per_class)
        splits = make_splits(frame, cfg, seed)
        if "given_from" in raw.meta:  # a hub dataset that publishes only a training split
            splits.info.update(given=raw.meta["given_from"], made=["dev", "test"])
    summary = dict(raw.meta, cleaning=cleaning, split=splits.info,
                   stats=describe(splits, case_kept=running_text),
                   subsampled_to=cfg.max_examples if cfg.max_examples else None)
    if raw.given:
        summary["cleaning_given"] = given_cleaning
    if "language" in splits.train:
        summary["languages"] = split_counts(splits)
    return splits, summary


def _check_enough(frame: pd.DataFrame, cfg, raw: RawData, cleaning: dict[str, Any]) -> None:
    """Texts left after cleaning: some, and not all the same (labelled data, whose classes
    are checked when split), or :data:`MIN_UNLABELLED` documents (text alone)."""
    if "label" not in frame:
        if len(frame) < MIN_UNLABELLED:
            hint = (" or, if each line is a document, set data.documents=lines"
                    if raw.meta.get("documents_found", "").startswith("paragraphs") else "")
            raise UserError(f"The data {cfg.source} has only {len(frame)} non-empty documents; "
                            f"a train/dev/test split needs at least {MIN_UNLABELLED}: give "
                            f"more text{hint}.")
        return
    if len(frame) == 0:
        raise UserError(_all_dropped(cfg, raw, cleaning))
    if len(frame) == 1 and cleaning["rows_in"] > 1:
        raise UserError(f"Every row of {cfg.source} holds the same text; give a dataset of "
                        f"distinct texts.")


def _all_dropped(cfg, raw: RawData, cleaning: dict[str, Any]) -> str:
    """The sentence for data that cleaning emptied: how many rows each reason dropped,
    and the fix for the reasons that did."""
    empty = cleaning.get("empty_dropped", 0)
    conflicts = cleaning.get("conflict_rows_dropped", 0)
    duplicates = cleaning.get("duplicate_rows_dropped", 0)
    if not (conflicts or duplicates):
        return (f"Every text of {cfg.source} is empty ({raw.meta.get('rows_read')} rows read, "
                f"none left after cleaning); check data.text_column ('{cfg.text_column}') and "
                f"the file.")
    reasons = [f"{n} {why}" for n, why in ((empty, "empty"),
                                           (conflicts, "in label conflicts (one text, several "
                                                       "labels)"),
                                           (duplicates, "duplicates")) if n]
    fixes = [fix for n, fix in ((empty, f"check data.text_column ('{cfg.text_column}')"),
                                (conflicts, "give each text one label (or set "
                                            "data.drop_conflicts=false to keep them)"),
                                (duplicates, "give distinct texts")) if n]
    return (f"Cleaning dropped every row of {cfg.source} ({cleaning.get('rows_in')} rows: "
            f"{', '.join(reasons)}); {' and '.join(fixes)}.")


__all__ = ["RawData", "Splits", "clean", "describe", "load_raw", "make_splits", "prepare"]
