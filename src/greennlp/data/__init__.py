"""Data: sources, cleaning, splits, duplicates/leakage and statistics.

:func:`prepare` runs the whole data stage: load, clean, subsample, split, describe.
"""

from __future__ import annotations

from typing import Any

from greennlp.data.clean import clean
from greennlp.data.given import complete_splits
from greennlp.data.sources import RawData, load_raw
from greennlp.data.split import Splits, make_splits, subsample
from greennlp.data.stats import describe
from greennlp.errors import UserError


def prepare(cfg, seed: int) -> tuple[Splits, dict[str, Any]]:
    """Load, clean and split the dataset of a :class:`~greennlp.config.DataConfig`.

    Returns
    -------
    (Splits, dict)
        The splits and the data section of the run record (origin, license, cleaning
        report, split method, statistics).
    """
    raw = load_raw(cfg)
    frame, cleaning = clean(raw.frame, drop_duplicates=cfg.drop_duplicates,
                            drop_conflicts=cfg.drop_conflicts)
    if len(frame) == 0:
        raise UserError(f"No rows of {cfg.source} are left after cleaning (every text is empty); "
                        f"give texts in column '{cfg.text_column}'.")
    if len(frame) == 1 and cleaning["rows_in"] > 1:
        raise UserError(f"Every row of {cfg.source} holds the same text; give a dataset of "
                        f"distinct texts.")
    frame = subsample(frame, cfg.max_examples, seed)
    if raw.given:  # the dataset's own dev / test: cleaned alike, used as given
        given, given_cleaning = {}, {}
        for name, part in raw.given.items():
            part, given_cleaning[name] = clean(part, drop_duplicates=cfg.drop_duplicates,
                                               drop_conflicts=cfg.drop_conflicts)
            if len(part) == 0:
                raise UserError(f"The given {name} split ({raw.meta['given_from'][name]}) has no "
                                f"rows left after cleaning; give it non-empty texts.")
            given[name] = subsample(part, cfg.max_examples, seed)
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
