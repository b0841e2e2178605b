"""Shared fixtures: tiny labelled datasets made here, never downloaded."""

from __future__ import annotations

import os
import random
from pathlib import Path

# Idle OpenMP threads sleep rather than spin: on a busy shared CPU spinning threads made
# small torch steps ~40x slower. Set before torch is imported anywhere in the tests.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pandas as pd
import pytest

POSITIVE = ["good", "great", "superb", "moving", "fresh", "witty", "lovely"]
NEGATIVE = ["bad", "dull", "awful", "tired", "flat", "boring", "messy"]
FILLER = ["the", "film", "plot", "actor", "scene", "story", "movie", "director", "a", "is"]


def make_frame(n: int = 240, seed: int = 0, n_groups: int = 30) -> pd.DataFrame:
    """A learnable two-class dataset with groups and times."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = "pos" if i % 2 == 0 else "neg"
        cue = POSITIVE if label == "pos" else NEGATIVE
        words = rng.sample(FILLER, 5) + rng.sample(cue, 2)
        rng.shuffle(words)
        rows.append({"text": " ".join(words) + f" {i}", "label": label,
                     "movie": f"m{i % n_groups}", "date": f"2020-01-{1 + i % 28:02d}"})
    return pd.DataFrame(rows)


@pytest.fixture
def frame() -> pd.DataFrame:
    return make_frame()


@pytest.fixture
def csv_path(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "reviews.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    """No progress bars in test output."""
    monkeypatch.setenv("GREENNLP_PROGRESS", "0")


TINY_OVERRIDES = [
    "models=[tfidf_logreg,transformer]",
    "transformer.num_layers=1", "transformer.hidden_size=16", "transformer.num_heads=2",
    "transformer.intermediate_size=32", "transformer.vocab_size=200",
    "transformer.train.epochs=2", "transformer.train.batch_size=16",
    "transformer.train.min_steps=0", "minilm.train.min_steps=0", "minilm_peft.train.min_steps=0",
    "pretrained.train.min_steps=0",
    "compress.distill.train.min_steps=0", "compress.prune.train.min_steps=0",
    "compress.early_exit.train.min_steps=0", "compress.pie.finetune.min_steps=0",
    "evaluate.bootstrap_samples=100", "evaluate.latency_examples=4",
    "evaluate.throughput_batches=1", "evaluate.repeats=1",
    "search.enabled=false", "seeds.count=1", "compress.methods=[]",
    "audit.dynamics=false",  # the probe training has its own tests (tests/tasks/test_audit.py)
]
