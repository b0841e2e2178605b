"""Train / dev / test splits: random, stratified, by group, or by time, all seeded.

Model selection uses dev only; test is evaluated once per final model. A group split
(e.g. by movie) keeps every group inside one split, so no movie's reviews are in both
train and test; it is also stratified by label (scikit-learn's StratifiedGroupKFold).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from greennlp.errors import UserError

SPLIT_NAMES = ("train", "dev", "test")


@dataclass
class Splits:
    """Three disjoint frames and how they were made."""

    train: pd.DataFrame
    dev: pd.DataFrame
    test: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return getattr(self, name)

    @property
    def labels(self) -> list[str]:
        """Sorted class names (the label index used by every model)."""
        return sorted(self.train["label"].unique().tolist())

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in SPLIT_NAMES:
            self[name].to_parquet(folder / f"{name}.parquet", index=False)

    @classmethod
    def load(cls, folder: Path, info: dict[str, Any]) -> "Splits":
        return cls(*(pd.read_parquet(folder / f"{n}.parquet") for n in SPLIT_NAMES), info=info)


def _fold_of(frame: pd.DataFrame, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rest and held-out positions: one fold of a stratified group K-fold."""
    n_splits = max(2, int(round(1.0 / fraction)))
    n_groups = frame["group"].nunique()
    if n_groups < n_splits:
        raise UserError(f"Only {n_groups} distinct groups; a group split with this fraction "
                        f"needs at least {n_splits}: use data.split=stratified or more groups.")
    sgkf = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    rest, held = next(sgkf.split(frame, frame["label"], frame["group"]))
    return rest, held


def _random(frame: pd.DataFrame, fraction: float, seed: int, stratify: bool):
    idx = np.arange(len(frame))
    return train_test_split(idx, test_size=fraction, random_state=seed,
                            stratify=frame["label"] if stratify else None)


def check_class_sizes(frame: pd.DataFrame, min_per_class: int, where: str = "the dataset",
                      parts: int = len(SPLIT_NAMES)) -> None:
    """Fail with one sentence if some class is too small to appear in each of the ``parts``
    splits made from ``frame``."""
    counts = frame["label"].value_counts()
    if len(counts) < 2:
        only = counts.index[0] if len(counts) else "none"
        raise UserError(f"{where.capitalize()} has a single class ('{only}'); classification "
                        f"needs at least two labels: check data.label_column.")
    need = min_per_class * parts
    small = counts[counts < need]
    if len(small):
        into = {1: "train", 2: "train and one more split"}.get(parts, "train/dev/test")
        raise UserError(f"Class '{small.index[0]}' has only {int(small.iloc[0])} examples in "
                        f"{where}; splitting into {into} needs at least {need}: add "
                        f"examples, drop or merge that class, or lower data.min_per_class.")


def make_splits(frame: pd.DataFrame, cfg, seed: int) -> Splits:
    """Split ``frame`` into train / dev / test as a :class:`~greennlp.config.DataConfig` says.

    Raises
    ------
    UserError
        When the method needs a column that is absent, or a class would be missing
        from a split.
    """
    method = cfg.split
    if method == "auto":
        method = "group" if "group" in frame else "stratified"
    if method == "group" and "group" not in frame:
        raise UserError("data.split=group needs a group column; set data.group_column, or "
                        "use data.split=stratified.")
    if method == "time" and "time" not in frame:
        raise UserError("data.split=time needs a time column; set data.time_column.")
    check_class_sizes(frame, cfg.min_per_class)
    frame = frame.reset_index(drop=True)
    dev_share = cfg.dev_fraction / (1.0 - cfg.test_fraction)
    if method == "time":
        order = np.argsort(pd.to_datetime(frame["time"], errors="coerce").to_numpy(), kind="stable")
        n_test, n_dev = int(len(frame) * cfg.test_fraction), int(len(frame) * cfg.dev_fraction)
        test = frame.iloc[order[len(frame) - n_test:]]
        dev = frame.iloc[order[len(frame) - n_test - n_dev:len(frame) - n_test]]
        train = frame.iloc[order[:len(frame) - n_test - n_dev]]
    elif method == "group":
        rest, held = _fold_of(frame, cfg.test_fraction, seed)
        test, rest_frame = frame.iloc[held], frame.iloc[rest].reset_index(drop=True)
        tr, dv = _fold_of(rest_frame, dev_share, (seed + 1) % 2**32)
        train, dev = rest_frame.iloc[tr], rest_frame.iloc[dv]
    else:
        stratify = method == "stratified"
        rest, held = _random(frame, cfg.test_fraction, seed, stratify)
        test, rest_frame = frame.iloc[held], frame.iloc[rest].reset_index(drop=True)
        tr, dv = _random(rest_frame, dev_share, seed + 1, stratify)
        train, dev = rest_frame.iloc[tr], rest_frame.iloc[dv]
    splits = Splits(train.reset_index(drop=True), dev.reset_index(drop=True),
                    test.reset_index(drop=True))
    for name in SPLIT_NAMES:
        missing = set(frame["label"]) - set(splits[name]["label"])
        if missing:
            raise UserError(f"Class '{sorted(missing)[0]}' ends up with no examples in the "
                            f"{name} split; add examples of it or use data.split=stratified.")
    splits.info = {"method": method, "seed": seed, "dev_fraction": cfg.dev_fraction,
                   "test_fraction": cfg.test_fraction,
                   "sizes": {n: int(len(splits[n])) for n in SPLIT_NAMES}}
    if method == "group":
        groups = {n: set(splits[n]["group"]) for n in SPLIT_NAMES}
        splits.info["groups"] = {n: len(g) for n, g in groups.items()}
        splits.info["groups_shared_train_test"] = len(groups["train"] & groups["test"])
    return splits


def subsample(frame: pd.DataFrame, n: int | None, seed: int, min_per_class: int = 1
              ) -> pd.DataFrame:
    """At most ``n`` rows, stratified by label (keeps class proportions).

    Raises
    ------
    UserError
        When a class would keep fewer than ``min_per_class`` examples per split.
    """
    if n is None or len(frame) <= n:
        return frame
    counts = frame["label"].value_counts()
    need = min_per_class * len(SPLIT_NAMES)
    kept = (counts * n / len(frame)).astype(int)
    if (kept < need).any():
        label = kept[kept < need].index[0]
        raise UserError(f"data.max_examples={n} would leave class '{label}' with about "
                        f"{int(kept[label])} of its {int(counts[label])} examples; the splits "
                        f"need at least {need}: raise data.max_examples, or drop or merge that "
                        f"class.")
    idx, _ = train_test_split(np.arange(len(frame)), train_size=n, random_state=seed,
                              stratify=frame["label"])
    return frame.iloc[np.sort(idx)].reset_index(drop=True)
