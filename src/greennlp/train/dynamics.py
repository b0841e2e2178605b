"""Training dynamics: each training example's loss, label probability and correctness at
every epoch, read off the forward pass that training already does.

Dataset cartography (Swayamdipta et al. 2020) and MAP-D (Siddiqui et al. 2022) read
these trajectories. The logits of a training batch are there anyway; one log-softmax
per batch (without gradient) is the whole cost, measured in
``benchmarks/label_noise.py`` (the ``dynamics_overhead`` line). Values come from the
training-mode forward (dropout on), as in both papers' implementations that record
during training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


class DynamicsRecorder:
    """Per example and epoch: loss, probability of the gold label, correct (NaN until seen).

    ``order[epoch]`` holds the example indices of each batch of that epoch, in order;
    the training loop calls :meth:`observe` after each forward.
    """

    def __init__(self, n_examples: int, epochs: int) -> None:
        shape = (epochs, n_examples)
        self.loss = np.full(shape, np.nan, dtype=np.float32)
        self.prob = np.full(shape, np.nan, dtype=np.float32)
        self.correct = np.full(shape, np.nan, dtype=np.float32)
        self.order: dict[int, list[np.ndarray]] = {}

    def observe(self, epoch: int, batch_index: int, batch: dict, output) -> None:
        """Record one batch of epoch ``epoch`` (its logits and its ``labels``)."""
        if epoch >= len(self.loss) or epoch not in self.order or "labels" not in batch:
            return
        idx = self.order[epoch][batch_index]
        with torch.no_grad():
            logp = torch.log_softmax(output.logits.detach().float(), dim=-1)
            labels = batch["labels"].to(logp.device)
            gold = logp.gather(1, labels[:, None])[:, 0]
            self.loss[epoch, idx] = (-gold).cpu().numpy()
            self.prob[epoch, idx] = gold.exp().cpu().numpy()
            self.correct[epoch, idx] = (logp.argmax(1) == labels).float().cpu().numpy()

    def epochs_seen(self) -> int:
        """Epochs with at least one recorded example."""
        return int((~np.isnan(self.loss)).any(axis=1).sum())

    def save(self, path: Path) -> None:
        """``loss``, ``prob``, ``correct`` arrays (epochs x examples) of the epochs seen."""
        e = self.epochs_seen()
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, loss=self.loss[:e], prob=self.prob[:e], correct=self.correct[:e])


def load_dynamics(path: Path) -> dict[str, np.ndarray]:
    """The arrays :meth:`DynamicsRecorder.save` wrote."""
    with np.load(path) as blob:
        return {k: blob[k] for k in ("loss", "prob", "correct")}
