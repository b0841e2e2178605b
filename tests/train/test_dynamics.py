"""Training dynamics recorded in the training loop's own forward pass."""

import numpy as np

from greennlp.config import TrainConfig, TransformerConfig
from greennlp.data.split import Splits
from greennlp.train.classifiers import fit_family
from greennlp.train.dynamics import load_dynamics
from tests.conftest import make_frame


def test_every_training_example_gets_loss_probability_and_correctness_per_epoch(tmp_path):
    frame = make_frame(120)
    splits = Splits(frame.iloc[:80].reset_index(drop=True), frame.iloc[80:100].reset_index(drop=True),
                    frame.iloc[100:].reset_index(drop=True))
    cfg = TransformerConfig(vocab_size=200, hidden_size=16, num_layers=1, num_heads=2,
                            intermediate_size=32, train=TrainConfig(epochs=3, batch_size=16,
                                                                    patience=3))
    fit_family("transformer", cfg, splits, 0, tmp_path, desc="t")
    dyn = load_dynamics(tmp_path / "dynamics.npz")
    assert dyn["loss"].shape == (3, 80) and not np.isnan(dyn["loss"]).any()
    assert np.allclose(dyn["prob"], np.exp(-dyn["loss"]), atol=1e-5)
    assert set(np.unique(dyn["correct"])) <= {0.0, 1.0}
    assert ((dyn["prob"] > 0.5) == (dyn["correct"] == 1)).mean() > 0.95  # two classes


def test_the_probe_training_learning_rate_adapts_to_the_model():
    """The 1-layer encoder the audit shrinks a family to learns at 3e-3; a pretrained
    encoder, not shrunk, keeps its own rate (3e-3 would wreck MiniLM); a set rate wins."""
    from greennlp.tasks import load_config
    from greennlp.train.probe_training import probe_section

    cfg = load_config()
    small = probe_section(cfg.transformer, cfg.audit)
    assert small.hidden_size == cfg.audit.dynamics_width and small.train.lr == 3e-3
    assert probe_section(cfg.minilm, cfg.audit).train.lr == cfg.minilm.train.lr
    cfg = load_config(None, ["audit.dynamics_lr=1e-4"])
    assert probe_section(cfg.minilm, cfg.audit).train.lr == 1e-4
    assert probe_section(cfg.minilm, cfg.audit).train.epochs == cfg.audit.dynamics_epochs
    assert probe_section(cfg.minilm, cfg.audit).train.min_steps == 0  # no stretching
