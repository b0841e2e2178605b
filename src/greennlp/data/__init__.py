"""Data: sources, cleaning, splits, duplicates/leakage and statistics.

:func:`prepare` runs the whole data stage: load, clean, subsample, split, describe.
"""

from __future__ import annotations

from typing import Any

from greennlp.data.clean import clean
from greennlp.data.sources import RawData, load_raw
from greennlp.data.split import Splits, make_splits, subsample
from greennlp.data.stats import describe


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
        raise ValueError("no rows left after cleaning")
    frame = subsample(frame, cfg.max_examples, seed)
    splits = make_splits(frame, cfg, seed)
    summary = dict(raw.meta, cleaning=cleaning, split=splits.info, stats=describe(splits),
                   subsampled_to=cfg.max_examples if cfg.max_examples else None)
    return splits, summary


__all__ = ["RawData", "Splits", "clean", "describe", "load_raw", "make_splits", "prepare"]
