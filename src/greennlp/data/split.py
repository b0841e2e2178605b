"""Train / dev / test splits: random, stratified, by group, by time, or by blocks, all seeded.

Model selection uses dev only; test is evaluated once per final model. A group split
(e.g. by movie) keeps every group inside one split, so no movie's reviews are in both
train and test; with labels it is also stratified by label (scikit-learn's
StratifiedGroupKFold). A block split (running text) cuts the rows, in their order, into
blocks of ``data.block_documents`` and assigns whole blocks to test, dev and train in a
seeded order, so that neighbouring documents, which usually come from the same scene,
stay on one side of the split.

Whether the data has labels is a property of the frame: a ``label`` column.
"""

from __future__ import annotations

import math
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
    """Three disjoint frames (a ``text`` column, ``label`` when the task has labels, and
    any carried columns) and how they were made."""

    train: pd.DataFrame
    dev: pd.DataFrame
    test: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return getattr(self, name)

    def texts(self, name: str) -> list[str]:
        """The texts of split ``name``, in order (documents of running text)."""
        return self[name]["text"].tolist()

    @property
    def labels(self) -> list[str]:
        """Sorted class names (the label index used by every model); empty without labels."""
        if "label" not in self.train:
            return []
        return sorted(self.train["label"].unique().tolist())

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in SPLIT_NAMES:
            self[name].to_parquet(folder / f"{name}.parquet", index=False)

    @classmethod
    def load(cls, folder: Path, info: dict[str, Any]) -> "Splits":
        return cls(*(pd.read_parquet(folder / f"{n}.parquet") for n in SPLIT_NAMES), info=info)


def resolve_method(method: str, frame: pd.DataFrame) -> str:
    """The split method ``data.split`` names for ``frame`` (``auto``: group when a group
    column is known, else stratified with labels or blocks without), checked against
    the columns it needs."""
    labelled = "label" in frame
    other = "stratified" if labelled else "blocks"
    if method == "auto":
        method = "group" if "group" in frame else other
    if method == "stratified" and not labelled:
        raise UserError("data.split=stratified needs labels, and this task's data has none; "
                        "use data.split=blocks, random, group or time.")
    if method in ("group", "time") and method not in frame:
        raise UserError(f"data.split={method} needs a {method} column; set "
                        f"data.{method}_column, or use data.split={other}.")
    return method


def split_blocks(n_rows: int, block_rows: int, fractions: dict[str, float], seed: int,
                 total: int | None = None) -> dict[str, np.ndarray]:
    """Row indices of each split: whole blocks of ``block_rows`` rows, in a seeded order.

    The splits of ``fractions`` take blocks first, in its order, each until it holds its
    fraction of ``total``; ``train`` takes the rest. ``total`` (default all rows) keeps
    only the first blocks of that order, so a subsample is still made of whole blocks.

    >>> {k: v.tolist() for k, v in split_blocks(6, 2, {"test": 0.3}, 0).items()}
    {'test': [4, 5], 'train': [0, 1, 2, 3]}
    """
    blocks = [np.arange(s, min(s + block_rows, n_rows)) for s in range(0, n_rows, block_rows)]
    order = np.random.default_rng(seed).permutation(len(blocks))
    total = min(n_rows, total or n_rows)
    targets = {name: fraction * total for name, fraction in fractions.items()}
    out: dict[str, list[np.ndarray]] = {name: [] for name in (*fractions, "train")}
    taken = 0
    for b in order:
        if taken >= total:
            break
        name = next((n for n in fractions if sum(map(len, out[n])) < targets[n]), "train")
        out[name].append(blocks[b])
        taken += len(blocks[b])
    return {n: np.sort(np.concatenate(v)) if v else np.array([], dtype=int) for n, v in out.items()}


def blocks_by_language(languages: pd.Series, block_rows: int, fractions: dict[str, float],
                       seed: int, total: int | None = None) -> dict[str, np.ndarray]:
    """:func:`split_blocks` within each language, so that every language has its share in
    every split (a language smaller than a block would otherwise land in one split).

    A language's blocks hold at most a twentieth of its rows; ``total`` keeps each
    language's share of the rows (the mix as found). The rows of each split come in a
    seeded order of whole blocks, languages interleaved, so the first documents of a split
    are a sample of every language's blocks rather than one language.

    >>> idx = blocks_by_language(pd.Series(["a"] * 40 + ["b"] * 20), 5, {"test": 0.25}, 0)
    >>> sorted(len(v) for v in idx.values()), int((idx["test"] >= 40).sum())
    ([15, 45], 5)
    """
    values = languages.to_numpy()
    keep = min(len(values), total or len(values)) / max(1, len(values))
    out: dict[str, list[np.ndarray]] = {name: [] for name in (*fractions, "train")}
    block_of = np.zeros(len(values), dtype=np.int64)
    next_block = 0
    for language in sorted(set(values)):
        rows = np.flatnonzero(values == language)
        size = max(1, min(block_rows, len(rows) // 20))
        local = split_blocks(len(rows), size, fractions, seed,
                             max(1, int(round(keep * len(rows)))))
        for name, part in local.items():
            out[name].append(rows[part])
        block_of[rows] = next_block + np.arange(len(rows)) // size
        next_block += -(-len(rows) // size)
    rank = np.random.default_rng(seed).permutation(next_block)
    result = {}
    for name, parts in out.items():
        rows = np.concatenate(parts) if parts else np.array([], dtype=int)
        result[name] = rows[np.lexsort((rows, rank[block_of[rows]]))]
    return result


def _fold_of(frame: pd.DataFrame, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rest and held-out positions: one fold of a (stratified, with labels) group K-fold."""
    n_splits = max(2, int(round(1.0 / fraction)))
    n_groups = frame["group"].nunique()
    if n_groups < n_splits:
        raise UserError(f"Only {n_groups} distinct groups; a group split with this fraction "
                        f"needs at least {n_splits}: use data.split=stratified or more groups.")
    sgkf = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    strata = frame["label"] if "label" in frame else np.zeros(len(frame), dtype=int)
    rest, held = next(sgkf.split(frame, strata, frame["group"]))
    return rest, held


def _random(frame: pd.DataFrame, fraction: float, seed: int, stratify: bool,
            setting: str = "data.test_fraction", share: float = 1.0):
    """Indices (rest, held out) of a (stratified) random draw; ``share``: the part of the
    whole data that ``frame`` is, to say which ``setting`` would hold every class."""
    idx = np.arange(len(frame))
    classes = frame["label"].nunique() if stratify else 0
    held = math.ceil(fraction * len(frame))
    if stratify and min(held, len(frame) - held) < classes:
        need = math.ceil(classes / len(frame) * share * 1000) / 1000
        raise UserError(f"A stratified split of {len(frame):,} rows holds out {held:,} for "
                        f"{setting.split('.')[1].split('_')[0]}, fewer than the {classes:,} "
                        f"classes, so not every class can be in it; raise {setting} to at "
                        f"least {need:g}, give more examples, or set data.split=random.")
    try:
        return train_test_split(idx, test_size=fraction, random_state=seed,
                                stratify=frame["label"] if stratify else None)
    except ValueError as exc:  # e.g. a held-out part smaller than the number of classes
        raise UserError(f"{len(frame)} examples cannot be split{' stratified' if stratify else ''}"
                        f" with a held-out share of {fraction:.2g} ({str(exc).splitlines()[0]}); "
                        f"give more examples (or a larger data.max_examples), or raise "
                        f"data.dev_fraction / data.test_fraction.") from None


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
    """Split ``frame`` into train / dev / test as a :class:`~greennlp.config.DataConfig` says
    (``data.split=blocks`` also keeps only ``data.max_examples`` rows, in whole blocks).

    Raises
    ------
    UserError
        When the method needs a column that is absent, or a class (or, by blocks, a
        split) would be empty.
    """
    method = resolve_method(cfg.split, frame)
    labelled = "label" in frame
    if labelled:
        check_class_sizes(frame, cfg.min_per_class)
    frame = frame.reset_index(drop=True)
    if method == "blocks":
        fractions = {"test": cfg.test_fraction, "dev": cfg.dev_fraction}
        idx = (blocks_by_language(frame["language"], cfg.block_documents, fractions, seed,
                                  cfg.max_examples) if "language" in frame else
               split_blocks(len(frame), cfg.block_documents, fractions, seed, cfg.max_examples))
        if any(len(v) == 0 for v in idx.values()):
            raise UserError(f"A split of {cfg.source} came out empty with blocks of "
                            f"{cfg.block_documents} documents; lower data.block_documents.")
        parts = {name: frame.iloc[idx[name]] for name in SPLIT_NAMES}
    else:
        parts = _three_way(frame, method, cfg, seed)
    splits = Splits(*(parts[name].reset_index(drop=True) for name in SPLIT_NAMES))
    for name in SPLIT_NAMES if labelled else ():
        missing = set(frame["label"]) - set(splits[name]["label"])
        if missing:
            raise UserError(f"Class '{sorted(missing)[0]}' ends up with no examples in the "
                            f"{name} split; add examples of it or use data.split=stratified.")
    splits.info = {"method": method, "seed": seed, "dev_fraction": cfg.dev_fraction,
                   "test_fraction": cfg.test_fraction,
                   "sizes": {n: int(len(splits[n])) for n in SPLIT_NAMES}}
    if method == "blocks":
        splits.info["block_documents"] = cfg.block_documents
        if "language" in frame:
            splits.info["blocks_within"] = "language"
    if method == "group":
        groups = {n: set(splits[n]["group"]) for n in SPLIT_NAMES}
        splits.info["groups"] = {n: len(g) for n, g in groups.items()}
        splits.info["groups_shared_train_test"] = len(groups["train"] & groups["test"])
    return splits


def _three_way(frame: pd.DataFrame, method: str, cfg, seed: int) -> dict[str, pd.DataFrame]:
    """Test, then dev from the rest, by time, group or (stratified) random draw."""
    dev_share = cfg.dev_fraction / (1.0 - cfg.test_fraction)
    if method == "time":
        order = np.argsort(pd.to_datetime(frame["time"], errors="coerce").to_numpy(), kind="stable")
        n_test, n_dev = int(len(frame) * cfg.test_fraction), int(len(frame) * cfg.dev_fraction)
        return {"test": frame.iloc[order[len(frame) - n_test:]],
                "dev": frame.iloc[order[len(frame) - n_test - n_dev:len(frame) - n_test]],
                "train": frame.iloc[order[:len(frame) - n_test - n_dev]]}
    if method == "group":
        rest, held = _fold_of(frame, cfg.test_fraction, seed)
        test, rest_frame = frame.iloc[held], frame.iloc[rest].reset_index(drop=True)
        tr, dv = _fold_of(rest_frame, dev_share, (seed + 1) % 2**32)
    else:
        stratify = method == "stratified"
        rest, held = _random(frame, cfg.test_fraction, seed, stratify)
        test, rest_frame = frame.iloc[held], frame.iloc[rest].reset_index(drop=True)
        tr, dv = _random(rest_frame, dev_share, seed + 1, stratify, "data.dev_fraction",
                         1.0 - cfg.test_fraction)
    return {"test": test, "dev": rest_frame.iloc[dv], "train": rest_frame.iloc[tr]}


def subsample(frame: pd.DataFrame, n: int | None, seed: int, min_per_class: int = 1,
              block_rows: int | None = None) -> pd.DataFrame:
    """About ``n`` rows: whole blocks of ``block_rows`` rows in a seeded order when given
    (up to the block that reaches ``n``), else exactly ``n``, stratified by label (keeps
    class proportions) when the frame has labels, else a seeded random draw. The rows
    keep their order.

    Raises
    ------
    UserError
        When a class would keep fewer than ``min_per_class`` examples per split.
    """
    if n is None or len(frame) <= n:
        return frame
    if block_rows:
        idx = split_blocks(len(frame), block_rows, {}, seed, total=n)["train"]
        return frame.iloc[idx].reset_index(drop=True)
    labelled = "label" in frame
    if labelled:
        counts = frame["label"].value_counts()
        need = min_per_class * len(SPLIT_NAMES)
        kept = (counts * n / len(frame)).astype(int)
        if (kept < need).any():
            label = kept[kept < need].index[0]
            raise UserError(f"data.max_examples={n} would leave class '{label}' with about "
                            f"{int(kept[label])} of its {int(counts[label])} examples; the "
                            f"splits need at least {need}: raise data.max_examples, or drop or "
                            f"merge that class.")
        if len(frame) - n < len(counts):  # fewer rows to leave out than classes: a
            # stratified draw cannot; they come from the largest class
            rows = np.flatnonzero((frame["label"] == counts.index[0]).to_numpy())
            out = np.random.default_rng(seed).choice(rows, size=len(frame) - n, replace=False)
            return frame.drop(frame.index[out]).reset_index(drop=True)
    idx, _ = train_test_split(np.arange(len(frame)), train_size=n, random_state=seed,
                              stratify=frame["label"] if labelled else None)
    return frame.iloc[np.sort(idx)].reset_index(drop=True)
