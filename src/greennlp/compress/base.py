"""The compressor interface and what every compressed model must offer.

A :class:`Compressor` turns a trained model into a :class:`CompressedModel`, which the
pipeline evaluates exactly like any other model (metrics with CIs, latency, throughput,
size, energy per 1M examples). Concrete compressors live one per file in this package.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from greennlp.data.split import Splits


@runtime_checkable
class CompressedModel(Protocol):
    """What evaluation, the record and the report need from a model."""

    labels: list[str]
    family: str

    def predict_proba(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray: ...

    def save(self, folder: Path) -> Path: ...

    def parameter_counts(self) -> dict[str, int]: ...

    def flops_per_example(self, texts: Sequence[str]) -> float: ...


class Compressor(Protocol):
    """One compression method with its settings (set in ``__init__``).

    ``compress`` returns a new model and leaves the input untouched; ``describe``
    returns the settings plus the facts learned while compressing (e.g. the real
    non-zero count, a fitted temperature), for the record.
    """

    name: str

    def compress(self, model: Any, ctx: "Context") -> CompressedModel: ...

    def describe(self) -> dict[str, Any]: ...


def label_indices(labels: Sequence[str], values) -> list[int]:
    """Label names -> column indices of ``labels``."""
    pos = {lab: i for i, lab in enumerate(labels)}
    return [pos[v] for v in values]


@dataclass
class Context:
    """What a compressor may use: train and dev (never test), a seed, a scratch folder,
    and unlabelled in-domain documents where the dataset has them (for augmentation)."""

    splits: Splits
    seed: int
    work_dir: Path
    log: Callable[[str], None] = print
    unlabelled: Sequence[str] = ()

    def dev_labels(self, labels: Sequence[str]) -> np.ndarray:
        """Dev label indices in the column order ``labels``."""
        return np.array(label_indices(labels, self.splits.dev["label"]))


@dataclass
class Step:
    """One variant of a compression plan: ``name`` = ``parent`` + ``+`` + ``label``."""

    parent: str
    make: Callable[[], Any]  # builds the compressor (settings from the config)
    label: str

    @property
    def name(self) -> str:
        return f"{self.parent}+{self.label}"
