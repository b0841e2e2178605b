"""Fit each model family on a :class:`~greennlp.data.Splits` (train, with dev for selection).

Each function returns the fitted model and a dict of training facts for the record.
Test data is never touched here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from greennlp.data.split import Splits
from greennlp.models.classifier import EncoderClassifier
from greennlp.models.tfidf import TfidfLogReg
from greennlp.train.batching import bucketed_batches
from greennlp.train.loop import train


def dev_accuracy(model, splits: Splits) -> float:
    """Accuracy on dev: the model-selection score."""
    probs = model.predict_proba(splits.dev["text"].tolist(), 64)
    pred = np.asarray(model.labels)[probs.argmax(1)]
    return float(np.mean(pred == splits.dev["label"].to_numpy()))


def fit_tfidf(cfg, splits: Splits, seed: int) -> tuple[TfidfLogReg, dict[str, Any]]:
    """TF-IDF + logistic regression on train."""
    model = TfidfLogReg(cfg, seed).fit(splits.train["text"].tolist(),
                                       splits.train["label"].tolist())
    vocab = len(model.pipeline_.named_steps["tfidf"].vocabulary_)
    return model, {"features": vocab, "dev_accuracy": dev_accuracy(model, splits)}


def fit_encoder(model: EncoderClassifier, train_cfg, splits: Splits, seed: int,
                ckpt_dir: Path, desc: str, until_epoch: int | None = None
                ) -> tuple[EncoderClassifier, dict[str, Any]]:
    """Train an encoder classifier with the shared loop; keeps the best-on-dev weights.

    Batches are length-bucketed; the order of epoch ``e`` is seeded by ``seed + e``, so
    a run resumed from a checkpoint sees the same batches it would have seen.
    """
    label_pos = {lab: i for i, lab in enumerate(model.labels)}
    ids = model.encode(splits.train["text"].tolist())
    y = [label_pos[lab] for lab in splits.train["label"]]
    lengths = [len(x) for x in ids]
    n_batches = len(bucketed_batches(lengths, train_cfg.batch_size, np.random.default_rng(0)))

    def batches(epoch: int):
        for idx in bucketed_batches(lengths, train_cfg.batch_size, np.random.default_rng(seed + epoch)):
            yield model.collate([ids[i] for i in idx], [y[i] for i in idx])

    state = train(model.model, batches, n_batches, lambda: dev_accuracy(model, splits), train_cfg,
                  ckpt_dir, seed=seed, desc=desc, checkpoint_extra=model.describe(),
                  until_epoch=until_epoch)
    model.model.eval()
    return model, {
        "epochs_run": state.epoch, "steps": state.step, "best_epoch": state.best_epoch,
        "best_dev_accuracy": state.best_score, "stopped_early": state.stopped_early,
        "finished": state.finished,
        "resumed_from_epoch": state.resumed_from_epoch, "history": state.history,
        "train_tokens_per_epoch": int(sum(lengths)),
        "truncated_examples": int(sum(n >= model.max_length for n in lengths)),
        "config": {k: getattr(train_cfg, k) for k in train_cfg.__dataclass_fields__},
    }


def fit_family(name: str, family_cfg, splits: Splits, seed: int, folder: Path,
               until_epoch: int | None = None, desc: str | None = None):
    """Fit model family ``name`` with its config section (TfidfConfig, TransformerConfig or
    PretrainedConfig); torch families checkpoint under ``folder/checkpoints``.

    Returns
    -------
    (model, dict)
        The fitted model (best dev weights) and training facts.
    """
    if name == "tfidf_logreg":
        model, info = fit_tfidf(family_cfg, splits, seed)
        return model, dict(info, finished=True, epochs_run=1, best_dev_accuracy=info["dev_accuracy"])
    if name == "transformer":
        from greennlp.models.encoder import build_scratch_encoder

        model = build_scratch_encoder(family_cfg, splits.train["text"].tolist(), splits.labels, seed)
    elif name == "minilm":
        from greennlp.models.pretrained import load_minilm

        model = load_minilm(splits.labels, family_cfg.max_length, seed)
    else:
        raise ValueError(f"fit_family does not know model family {name!r}")
    return fit_encoder(model, family_cfg.train, splits, seed, Path(folder) / "checkpoints",
                       desc=desc or f"train {name}", until_epoch=until_epoch)
