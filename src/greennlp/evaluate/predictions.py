"""Predictions already made, so that the same weights never score the same texts twice.

A training run scores dev after every epoch and ends holding the best epoch's weights;
evaluation then scores dev again, and compression scores it once more as the reference
of its variants. :func:`predict_once` returns the probabilities an earlier call made for
the same texts at the same batch size by a model with the same ``fingerprint()`` (a
digest of everything that decides the numbers: weights byte for byte, tokenizer, config,
threads), and predicts otherwise. A model without a fingerprint (None, or no such
method) predicts every time.

Timed passes (latency, throughput, energy) call ``predict_proba`` directly and never
come here: a timing must do the work it times. Test scores still go through the run's
test gate once per model; a copy is never shared between two models, since two models
with the same fingerprint compute the same numbers.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from greennlp.memo import Recent, texts_digest

# Probabilities are small (examples x classes); the least recently used are dropped.
_memo = Recent(32)


def predict_once(model: Any, texts: Sequence[str], batch_size: int) -> np.ndarray:
    """``model.predict_proba(texts, batch_size)``, or a copy of the probabilities an earlier
    call returned for a model with the same fingerprint, the same texts and batch size.

    Parameters
    ----------
    model
        Anything with ``predict_proba(texts, batch_size)``; remembered only when it has a
        ``fingerprint()`` that returns a string.
    texts
        The inputs, in order.
    batch_size
        Part of the key: the same text can get slightly different numbers in another batch.
    """
    texts = list(texts)
    fingerprint = getattr(model, "fingerprint", None)
    weights = fingerprint() if callable(fingerprint) else None
    if weights is None:
        return np.asarray(model.predict_proba(texts, batch_size))
    key = (weights, texts_digest(texts), batch_size)
    return _memo.get_or_make(key, lambda: np.asarray(model.predict_proba(texts, batch_size))
                             ).copy()


def forget() -> None:
    """Drop every remembered prediction."""
    _memo.clear()
