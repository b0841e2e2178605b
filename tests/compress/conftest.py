"""Tiny models and splits made here: every compression test runs in seconds."""

from __future__ import annotations

import pytest

from greennlp.config import TrainConfig, TransformerConfig
from greennlp.data.split import Splits
from tests.conftest import make_frame

TINY = TransformerConfig(vocab_size=200, hidden_size=16, num_layers=3, num_heads=2,
                         intermediate_size=32, max_length=32, dropout=0.0)
FAST = TrainConfig(epochs=2, batch_size=16, lr=3e-3, patience=2, min_steps=0)


def tiny_splits(seed: int = 0) -> Splits:
    """A learnable two-class problem: 240 train, 80 dev, 80 test."""
    frame = make_frame(400, seed=seed)
    return Splits(frame.iloc[:240].reset_index(drop=True), frame.iloc[240:320].reset_index(drop=True),
                  frame.iloc[320:].reset_index(drop=True))


def tiny_classifier(splits: Splits, seed: int = 0, train: bool = True):
    """A 3-layer, H=16 encoder, trained for two quick epochs unless ``train`` is False."""
    from greennlp.models.encoder import build_scratch_encoder
    from greennlp.train.classifiers import fit_encoder

    clf = build_scratch_encoder(TINY, splits.train["text"].tolist(), splits.labels, seed)
    if train:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            clf, _ = fit_encoder(clf, FAST, splits, seed, tmp, desc="tiny")
    clf.model.eval()
    return clf


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    """Tiny models gain nothing from threads, and a shared 2-core machine loses a lot
    to oversubscription when several jobs each start two."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def splits() -> Splits:
    return tiny_splits()


@pytest.fixture(scope="session")
def trained(splits):
    """A trained tiny classifier shared by tests that do not modify it."""
    return tiny_classifier(splits)


@pytest.fixture
def ctx(splits, tmp_path):
    from greennlp.compress.base import Context

    return Context(splits, 0, tmp_path, log=lambda m: None)
