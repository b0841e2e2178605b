"""Evaluation: metrics as pure functions, bootstrap CIs, efficiency.

:func:`score_split` gives every metric of one model on one split with its confidence
interval; :func:`greennlp.evaluate.efficiency.measure_speed` times it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pandas costs ~0.4 s to import; `greennlp config` does not need it
    import pandas as pd

from greennlp.evaluate.bootstrap import bootstrap_scores
from greennlp.evaluate.metrics import confusion_counts
from greennlp.evaluate.predictions import predict_once

EVAL_BATCH_SIZE = 32  # evaluation's batch: dev scores during training use it too (reuse)


def score_split(model, frame: pd.DataFrame, cfg, seed: int = 0) -> dict[str, Any]:
    """Predict ``frame`` (or reuse the probabilities the same weights gave for the same
    texts: :func:`~greennlp.evaluate.predictions.predict_once`) and score it.

    Parameters
    ----------
    model
        Anything with ``labels`` and ``predict_proba(texts, batch_size)``.
    frame
        A split with ``text`` and ``label`` columns.
    cfg
        A :class:`greennlp.config.EvaluateConfig` (bootstrap samples, confidence).

    Returns
    -------
    dict
        ``metrics`` ({name: {value, low, high}}), ``confusion_matrix`` (rows true),
        ``pred`` (label indices) and ``proba``.
    """
    labels = list(model.labels)
    pos = {lab: i for i, lab in enumerate(labels)}
    unknown = set(frame["label"]) - set(pos)
    if unknown:
        raise ValueError(f"labels {sorted(unknown)} were never seen in training")
    proba = predict_once(model, frame["text"].tolist(), EVAL_BATCH_SIZE)
    pred = proba.argmax(1)
    true = np.array([pos[lab] for lab in frame["label"]])
    metrics = bootstrap_scores(true, pred, len(labels), n_samples=cfg.bootstrap_samples,
                               confidence=cfg.confidence, seed=seed, labels=labels)
    return {"metrics": metrics, "confusion_matrix": confusion_counts(true, pred, len(labels)).tolist(),
            "pred": pred, "true": true, "proba": proba}
