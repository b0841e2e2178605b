"""Fit a classification family on a :class:`~greennlp.data.Splits` (train, with dev for
selection), the way its entry in the family table says (``Family.training``).

Each function returns the fitted model and a dict of training facts for the record.
Test data is never touched here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from greennlp.data.split import Splits
from greennlp.evaluate.baselines import label_profile
from greennlp.evaluate import EVAL_BATCH_SIZE
from greennlp.evaluate.metrics import confusion_counts, scores_from_confusion
from greennlp.evaluate.predictions import predict_once
from greennlp.models.classifier import EncoderClassifier
from greennlp.models.families import Family, family
from greennlp.models.finetuning import finish
from greennlp.models.hf_format import check_tokenization
from greennlp.train.batching import bucketed_batches
from greennlp.train.dynamics import DynamicsRecorder
from greennlp.train.loop import NonFiniteLoss, train
from greennlp.train.mlm import pretrain_mlm


def selection_metric(splits: Splits) -> str:
    """The dev metric that selects epochs and trials (resolved by the data stage into
    ``splits.info``; accuracy when absent)."""
    return splits.info.get("selection_metric", "accuracy")


def dev_accuracy(model, splits: Splits) -> float:
    """The model-selection score on dev: the run's selection metric (accuracy by default).

    Dev is scored at evaluation's batch size and remembered
    (:func:`~greennlp.evaluate.predictions.predict_once`): the final model holds the best
    epoch's weights, so its evaluation on dev reuses these probabilities."""
    probs = predict_once(model, splits.dev["text"].tolist(), EVAL_BATCH_SIZE)
    pos = {lab: i for i, lab in enumerate(model.labels)}
    true = np.array([pos.get(lab, -1) for lab in splits.dev["label"]])
    pred = probs.argmax(1)
    metric = selection_metric(splits)
    if metric == "accuracy" or (true < 0).any():
        return float(np.mean(pred == true))
    return float(scores_from_confusion(confusion_counts(true, pred, len(model.labels)))[metric])


def class_weights(setting: str, labels: list[str], train_labels) -> list[float] | None:
    """Inverse-frequency weights ``n / (K * n_k)`` (scikit-learn's "balanced"), or None.

    ``auto`` weighs only imbalanced labels (:func:`greennlp.evaluate.baselines.label_profile`).

    >>> class_weights("balanced", ["a", "b"], ["a", "a", "a", "b"])
    [0.6666666666666666, 2.0]
    """
    if setting == "none" or (setting == "auto" and not label_profile(train_labels)["imbalanced"]):
        return None
    counts = np.array([sum(1 for y in train_labels if y == lab) for lab in labels], float)
    return (len(train_labels) / (len(labels) * np.maximum(counts, 1))).tolist()


def weighted_loss(weights: list[float]):
    """``loss_fn`` for :func:`greennlp.train.loop.train`: class-weighted cross-entropy."""
    import torch

    def loss_fn(output, batch: dict):
        logits = output.logits.float()
        w = torch.as_tensor(weights, dtype=torch.float32, device=logits.device)
        return torch.nn.functional.cross_entropy(logits, batch["labels"], weight=w)
    return loss_fn


def seconds_per_step(history: list[dict]) -> float | None:
    """Wall seconds per optimizer step over the epochs trained (dev scoring left out).

    >>> seconds_per_step([{"duration_s": 3.0, "steps": 10}, {"duration_s": 3.0, "steps": 20}])
    0.3
    """
    steps = history[-1]["steps"] if history else 0
    return sum(h["duration_s"] for h in history) / steps if steps else None


def fit_encoder(model: EncoderClassifier, train_cfg, splits: Splits, seed: int,
                ckpt_dir: Path, desc: str, until_epoch: float | None = None
                ) -> tuple[EncoderClassifier, dict[str, Any]]:
    """Train an encoder classifier with the shared loop; keeps the best-on-dev weights.

    Batches are length-bucketed; the order of epoch ``e`` is seeded by ``seed + e``, so
    a run resumed from a checkpoint sees the same batches it would have seen.
    Every example's loss, gold-label probability and correctness per epoch (training
    dynamics) are saved to ``ckpt_dir/../dynamics.npz``.
    """
    label_pos = {lab: i for i, lab in enumerate(model.labels)}
    ids = model.encode_once(splits.train["text"].tolist())
    check_tokenization(model.tokenizer, ids, f"model family {model.family}")
    y = [label_pos[lab] for lab in splits.train["label"]]
    lengths = [len(x) for x in ids]
    n_batches = len(bucketed_batches(lengths, train_cfg.batch_size, np.random.default_rng(0)))

    recorder = DynamicsRecorder(len(ids), train_cfg.epochs)

    def batches(epoch: int):
        order = bucketed_batches(lengths, train_cfg.batch_size, np.random.default_rng(seed + epoch))
        recorder.order[epoch] = order
        for idx in order:
            yield model.collate([ids[i] for i in idx], [y[i] for i in idx])

    weights = class_weights(train_cfg.class_weights, model.labels,
                            splits.train["label"].tolist())
    state = train(model.model, batches, n_batches, lambda: dev_accuracy(model, splits), train_cfg,
                  ckpt_dir, seed=seed, desc=desc, checkpoint_extra=model.describe(),
                  until_epoch=until_epoch, observe=recorder.observe,
                  loss_fn=weighted_loss(weights) if weights else None)
    finish(model)  # adapters merged into the weights; the adapter alone kept for saving
    model.model.eval()
    if recorder.epochs_seen():
        recorder.save(Path(ckpt_dir).parent / "dynamics.npz")
    return model, {
        "dev_metric": selection_metric(splits), "class_weights": weights,
        "epochs_run": state.epoch, "steps": state.step, "best_epoch": state.best_epoch,
        "best_dev_accuracy": state.best_score, "stopped_early": state.stopped_early,
        "finished": state.finished, "paused_dev_accuracy": state.paused_score,
        "resumed_from_epoch": state.resumed_from_epoch, "history": state.history,
        "train_tokens_per_epoch": int(sum(lengths)),
        "truncated_examples": int(sum(n >= model.max_length for n in lengths)),
        "seconds_per_step": seconds_per_step(state.history),
        "finetune": model.finetune,
        "config": dataclasses.asdict(train_cfg),
    }


def _fit_once(fam: Family, section, splits: Splits, seed: int, folder: Path, **_: Any):
    model = fam.build(section, splits.train["text"].tolist(), splits.labels, seed)
    model.fit(splits.train["text"].tolist(), splits.train["label"].tolist())
    dev = dev_accuracy(model, splits)
    info = {"dev_accuracy": dev, "finished": True, "epochs_run": 1, "best_dev_accuracy": dev,
            "dev_metric": selection_metric(splits)}
    if hasattr(model, "describe_fit"):
        info.update(model.describe_fit())
    return model, info


def _fit_epochs(fam: Family, section, splits: Splits, seed: int, folder: Path, *,
                until_epoch: float | None = None, desc: str = "", **_: Any):
    model = fam.build(section, splits.train["text"].tolist(), splits.labels, seed)
    return fit_encoder(model, section.train, splits, seed, Path(folder) / "checkpoints",
                       desc=desc, until_epoch=until_epoch)


def _fit_masked_lm(fam: Family, section, splits: Splits, seed: int, folder: Path, *,
                   mlm=None, desc: str = "", **_: Any):
    model = fam.build(section, splits.train["text"].tolist(), splits.labels, seed)
    pre = pretrain_mlm(model, splits, mlm, seed, Path(folder) / "mlm_checkpoints")
    model, info = fit_encoder(model, section.train, splits, seed, Path(folder) / "checkpoints",
                              desc=desc)
    info["pretraining"] = pre
    return model, info


# How each kind of classifier training (Family.training) is done.
TRAINERS = {"once": _fit_once, "epochs": _fit_epochs, "masked-lm": _fit_masked_lm}


def fit_family(name: str, section, splits: Splits, seed: int, folder: Path,
               until_epoch: float | None = None, desc: str | None = None, mlm=None):
    """Fit classification family ``name`` with its config section (trial, seed or final
    settings); torch families checkpoint under ``folder/checkpoints``.

    ``mlm`` are the masked-LM settings (``lm.mlm``) of families pre-trained that way.

    Returns
    -------
    (model, dict)
        The fitted model (best dev weights) and training facts.
    """
    fam = family(name)
    try:
        return TRAINERS[fam.training](fam, section, splits, seed, folder, until_epoch=until_epoch,
                                      desc=desc or f"train {name}", mlm=mlm)
    except NonFiniteLoss as exc:  # name the settings of this family
        raise NonFiniteLoss(str(exc).replace("train.", f"{fam.section}.train.")) from None
