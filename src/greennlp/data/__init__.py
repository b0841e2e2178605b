"""Data: sources, cleaning, splits, duplicates/leakage and statistics.

:func:`prepare` runs the whole data stage: load, clean, subsample, split, describe.
"""

from __future__ import annotations

from typing import Any

from greennlp.data.clean import clean
from greennlp.data.sources import RawData, load_raw
from greennlp.data.split import Splits, check_class_sizes, make_splits, subsample
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
        raise UserError(f"Every text of {cfg.source} is empty ({raw.meta.get('rows_read')} rows "
                        f"read, none left after cleaning); check data.text_column "
                        f"('{cfg.text_column}') and the file.")
    if cfg.max_examples and len(frame) > cfg.max_examples:
        check_class_sizes(frame, cfg.min_per_class)
    frame = subsample(frame, cfg.max_examples, seed, cfg.min_per_class)
    splits = make_splits(frame, cfg, seed)
    summary = dict(raw.meta, cleaning=cleaning, split=splits.info, stats=describe(splits),
                   subsampled_to=cfg.max_examples if cfg.max_examples else None)
    return splits, summary


__all__ = ["RawData", "Splits", "clean", "describe", "load_raw", "make_splits", "prepare"]
