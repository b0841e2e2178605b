"""Data: sources, cleaning, splits, duplicates/leakage and statistics.

:func:`prepare` runs the whole data stage: load, clean, subsample, split, describe.
"""

from __future__ import annotations

from typing import Any

from greennlp.data.clean import clean
from greennlp.data.given import complete_splits
from greennlp.data.sources import RawData, load_raw
from greennlp.data.split import Splits, check_class_sizes, make_splits, subsample
from greennlp.data.stats import describe
from greennlp.errors import UserError


def prepare(cfg, seed: int, keep: tuple[str, ...] = ()) -> tuple[Splits, dict[str, Any]]:
    """Load, clean and split the dataset of a :class:`~greennlp.config.DataConfig`;
    ``keep`` names further columns of the source to carry along (slices, groups).

    Returns
    -------
    (Splits, dict)
        The splits and the data section of the run record (origin, license, cleaning
        report, split method, statistics).
    """
    raw = load_raw(cfg, keep)
    frame, cleaning = clean(raw.frame, drop_duplicates=cfg.drop_duplicates,
                            drop_conflicts=cfg.drop_conflicts)
    if len(frame) == 0:
        raise UserError(f"Every text of {cfg.source} is empty ({raw.meta.get('rows_read')} rows "
                        f"read, none left after cleaning); check data.text_column "
                        f"('{cfg.text_column}') and the file.")
    if len(frame) == 1 and cleaning["rows_in"] > 1:
        raise UserError(f"Every row of {cfg.source} holds the same text; give a dataset of "
                        f"distinct texts.")
    if cfg.max_examples and len(frame) > cfg.max_examples:
        check_class_sizes(frame, cfg.min_per_class)
    frame = subsample(frame, cfg.max_examples, seed, cfg.min_per_class)
    if raw.given:  # the dataset's own dev / test: cleaned alike, used as given
        given, given_cleaning = {}, {}
        for name, part in raw.given.items():
            part, given_cleaning[name] = clean(part, drop_duplicates=cfg.drop_duplicates,
                                               drop_conflicts=cfg.drop_conflicts)
            if len(part) == 0:
                raise UserError(f"The given {name} split ({raw.meta['given_from'][name]}) has no "
                                f"rows left after cleaning; give it non-empty texts.")
            given[name] = subsample(part, cfg.max_examples, seed, min_per_class=0)
        splits = complete_splits(frame, given, raw.meta["given_from"], cfg, seed)
    else:
        splits = make_splits(frame, cfg, seed)
        if "given_from" in raw.meta:  # a hub dataset that publishes only a training split
            splits.info.update(given=raw.meta["given_from"], made=["dev", "test"])
    summary = dict(raw.meta, cleaning=cleaning, split=splits.info, stats=describe(splits),
                   subsampled_to=cfg.max_examples if cfg.max_examples else None)
    if raw.given:
        summary["cleaning_given"] = given_cleaning
    return splits, summary


__all__ = ["RawData", "Splits", "clean", "describe", "load_raw", "make_splits", "prepare"]
