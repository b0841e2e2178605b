"""The dataset's own splits: a test (or dev) file, a split column, a hub dataset's
published splits. What the dataset gives is used as given; greennlp makes only the rest,
from the training data, with the configured split method.

A given split must speak the training data's language: the same columns and no label
the training data lacks (a label only the test split has cannot be predicted, and a
typo such as ``Pos`` against ``pos`` would silently count as an error).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from greennlp.data.split import (SPLIT_NAMES, Splits, _fold_of, _random, check_class_sizes,
                                 resolve_method, split_blocks)
from greennlp.errors import UserError

# Values of a split column, and the split each names (case and spaces ignored).
SPLIT_VALUES = {"train": "train", "training": "train",
                "dev": "dev", "validation": "dev", "valid": "dev", "val": "dev",
                "development": "dev", "test": "test", "testing": "test"}
# Published split names a hub dataset uses for dev, tried in this order by hf_dev_split=auto.
HF_DEV_NAMES = ("validation", "dev", "valid")


def partition(frame: pd.DataFrame, column: str, where: str) -> dict[str, pd.DataFrame]:
    """Rows of ``frame`` by the split their ``column`` value names (train, dev, test).

    >>> f = pd.DataFrame({"text": list("abcd"), "split": ["train", "Validation", "test", "train"]})
    >>> {k: len(v) for k, v in partition(f, "split", "data").items()}
    {'train': 2, 'dev': 1, 'test': 1}
    """
    names = frame[column].astype("string").fillna("").str.strip().str.lower()
    unknown = sorted(set(names) - set(SPLIT_VALUES))
    if unknown:
        raise UserError(f"Split column '{column}' of {where} has the value '{unknown[0]}'; use "
                        f"train, validation (or dev) and test, or unset data.split_column.")
    roles = names.map(SPLIT_VALUES)
    parts = {name: frame[roles == name].drop(columns=[column]).reset_index(drop=True)
             for name in SPLIT_NAMES if (roles == name).any()}
    if "train" not in parts:
        raise UserError(f"Split column '{column}' of {where} names no training rows; mark the "
                        f"training rows 'train'.")
    return parts


def hf_roles(available: list[str], cfg) -> tuple[dict[str, str], list[str]]:
    """Which published split of a hub dataset plays train, dev and test, and notes on
    what was not found. ``cfg.hf_dev_split`` / ``cfg.hf_test_split``: ``auto`` uses the
    published one when there is one, ``none`` always makes it, a name must exist."""
    roles, notes = {"train": cfg.hf_split}, []
    for role, setting, candidates in (("dev", cfg.hf_dev_split, HF_DEV_NAMES),
                                      ("test", cfg.hf_test_split, ("test",))):
        if setting == "none":
            continue
        if setting != "auto":
            if setting not in available:
                raise UserError(f"data.hf_{role}_split is '{setting}', which the dataset does "
                                f"not publish; choose one of {', '.join(available)}, auto or none.")
            roles[role] = setting
            continue
        found = next((c for c in candidates if c in available and c != cfg.hf_split), None)
        if found:
            roles[role] = found
        else:
            notes.append(f"the dataset publishes no {role} split")
    if cfg.hf_split not in available:
        raise UserError(f"data.hf_split is '{cfg.hf_split}', which the dataset does not "
                        f"publish; choose one of {', '.join(available)}.")
    return roles, notes


def check_like_train(train: pd.DataFrame, other: pd.DataFrame, where: str) -> None:
    """A given split has no label the training data lacks (nothing to check without labels)."""
    if "label" not in train:
        return
    extra = sorted(set(other["label"]) - set(train["label"]))
    if extra:
        raise UserError(f"The {where} has the label '{extra[0]}', which the training data does "
                        f"not have; use the training data's labels "
                        f"({', '.join(sorted(set(train['label']))[:10])}) in every split.")


def _cut(frame: pd.DataFrame, fraction: float, method: str, seed: int, block_rows: int
         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rest and held-out part of ``frame`` (held = ``fraction`` of it), by ``method``."""
    frame = frame.reset_index(drop=True)
    if method == "blocks":
        idx = split_blocks(len(frame), block_rows, {"held": fraction}, seed)
        rest, held = idx["train"], idx["held"]
    elif method == "time":
        order = np.argsort(pd.to_datetime(frame["time"], errors="coerce").to_numpy(), kind="stable")
        n_held = int(len(frame) * fraction)
        rest, held = order[:len(frame) - n_held], order[len(frame) - n_held:]
    elif method == "group":
        rest, held = _fold_of(frame, fraction, seed)
    else:
        rest, held = _random(frame, fraction, seed, stratify=method == "stratified")
    return frame.iloc[rest].reset_index(drop=True), frame.iloc[held].reset_index(drop=True)


def complete_splits(pool: pd.DataFrame, given: dict[str, pd.DataFrame], origin: dict[str, str],
                    cfg, seed: int) -> Splits:
    """Train / dev / test from the training ``pool`` and the ``given`` splits.

    A split that is given is used as it is; a missing dev (or test) is cut from the pool:
    ``cfg.dev_fraction`` (``cfg.test_fraction``) of it, by ``cfg.split``. ``origin``
    says where each given split came from, for the datasheet.
    """
    method = resolve_method(cfg.split, pool)
    labelled = "label" in pool
    made = [n for n in ("test", "dev") if n not in given]
    if labelled:
        check_class_sizes(pool, cfg.min_per_class, "the training data", parts=1 + len(made))
    parts: dict[str, pd.DataFrame] = {}
    rest = pool
    for i, name in enumerate(made):
        fraction = cfg.test_fraction if name == "test" else cfg.dev_fraction
        rest, parts[name] = _cut(rest, fraction, method, seed + i, cfg.block_documents)
    for name in made if labelled else ():
        missing = set(rest["label"]) - set(parts[name]["label"])
        if missing:
            raise UserError(f"Class '{sorted(missing)[0]}' ends up with no examples in the "
                            f"{name} split made from the training data; add examples of it or "
                            f"use data.split=stratified.")
    splits = Splits(rest.reset_index(drop=True), *(given.get(n, parts.get(n)) for n in ("dev", "test")))
    splits.info = {"method": method, "seed": seed,
                   "dev_fraction": None if "dev" in given else cfg.dev_fraction,
                   "test_fraction": None if "test" in given else cfg.test_fraction,
                   "given": {n: origin[n] for n in SPLIT_NAMES if n in origin},
                   "made": made,
                   "sizes": {n: int(len(splits[n])) for n in SPLIT_NAMES}}
    if method == "blocks":
        splits.info["block_documents"] = cfg.block_documents
    if "group" in pool:
        groups = {n: set(splits[n]["group"]) for n in SPLIT_NAMES if "group" in splits[n]}
        splits.info["groups"] = {n: len(g) for n, g in groups.items()}
        if "test" in groups:
            splits.info["groups_shared_train_test"] = len(groups["train"] & groups["test"])
    return splits

