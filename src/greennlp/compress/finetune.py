"""Fine-tuning under compression, through the project's one training loop.

Pruning, distillation and early exit all train a torch module on the train split and
keep the best weights on dev, which is what :func:`greennlp.train.loop.train` does.
They differ in the loss (the module's forward returns it) and in two hooks: extra
tensors per batch (teacher logits) and a call before each optimizer step (a pruning
schedule that tightens the masks). Checkpoints go to a scratch folder that is cleared
first: a compression stage that crashes is redone from its start.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from greennlp.evaluate import EVAL_BATCH_SIZE
from greennlp.evaluate.predictions import predict_once
from greennlp.train.batching import bucketed_batches
from greennlp.train.loop import train

BatchExtra = Callable[[np.ndarray], dict[str, torch.Tensor]]


def steps_per_epoch(n_examples: int, batch_size: int) -> int:
    """Optimizer steps in one epoch of length-bucketed batches (no accumulation)."""
    return len(bucketed_batches(np.zeros(n_examples, dtype=int), batch_size,
                                np.random.default_rng(0)))


def run_training(clf, module: torch.nn.Module, cfg, texts: list[str], labels: list[int],
                 dev_score: Callable[[], float], ckpt_dir: Path, seed: int, desc: str, *,
                 extra: BatchExtra | None = None,
                 before_step: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Train ``module`` on ``texts`` tokenised by ``clf``; returns the loop's facts.

    Parameters
    ----------
    clf
        The :class:`~greennlp.models.classifier.EncoderClassifier` whose tokenizer and
        collation are used.
    module
        What is optimised; its forward takes the batch dict and returns ``.loss``.
    cfg
        A :class:`greennlp.config.TrainConfig`.
    extra
        ``extra(indices)`` adds tensors to a batch (e.g. teacher logits of those rows).
    before_step
        Called with the global step number before each batch (gradient accumulation
        must be 1 so that a batch is a step).
    """
    if before_step is not None and cfg.grad_accum_steps != 1:
        raise ValueError("a per-step hook needs grad_accum_steps=1")
    ids = clf.encode_once(texts)
    lengths = [len(x) for x in ids]
    n_batches = len(bucketed_batches(lengths, cfg.batch_size, np.random.default_rng(0)))

    def batches(epoch: int):
        order = bucketed_batches(lengths, cfg.batch_size, np.random.default_rng(seed + epoch))
        for i, idx in enumerate(order):
            if before_step is not None:
                before_step(epoch * n_batches + i)
            batch = clf.collate([ids[j] for j in idx], [labels[j] for j in idx])
            if extra is not None:
                batch.update({k: v.to(clf.device) for k, v in extra(idx).items()})
            yield batch

    ckpt_dir = Path(ckpt_dir)
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    state = train(module, batches, n_batches, dev_score, cfg, ckpt_dir, seed=seed, desc=desc)
    module.eval()
    shutil.rmtree(ckpt_dir, ignore_errors=True)  # weights now live in the module
    return {"epochs_run": state.epoch, "steps": state.step, "best_epoch": state.best_epoch,
            "best_dev_score": state.best_score, "history": state.history}


def dev_accuracy_of(clf, ctx) -> float:
    """Dev accuracy of anything with ``labels`` and ``predict_proba``, at evaluation's batch
    size and remembered: the variant's evaluation on dev reuses its last best epoch's pass."""
    proba = predict_once(clf, ctx.splits.dev["text"].tolist(), EVAL_BATCH_SIZE)
    return float(np.mean(proba.argmax(1) == ctx.dev_labels(clf.labels)))
