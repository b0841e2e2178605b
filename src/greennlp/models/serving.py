"""What a loaded classifier offers a service: labels for texts, as a call.

Every classifier greennlp loads (:func:`greennlp.models.load_model`) has ``labels`` and
``predict_proba(texts, batch_size)``; :class:`Predicts` adds ``predict(texts)`` and
``model(texts)``, which return label names, the way scikit-learn estimators and
``transformers`` pipelines are used.
"""

from __future__ import annotations

from typing import Sequence, overload

import numpy as np


class Predicts:
    """``predict`` and ``__call__`` from ``predict_proba`` and ``labels`` (a mixin)."""

    labels: list[str]

    def predict_proba(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        raise NotImplementedError

    def predict(self, texts: Sequence[str], batch_size: int = 32) -> list[str]:
        """The most probable label of each text.

        Parameters
        ----------
        texts
            The texts to classify.
        batch_size
            Texts per forward pass.

        Returns
        -------
        list of str
            One label name per text, in order.
        """
        texts = list(texts)
        if not texts:
            return []
        return [self.labels[i] for i in self.predict_proba(texts, batch_size).argmax(1)]

    @overload
    def __call__(self, texts: str) -> str: ...

    @overload
    def __call__(self, texts: Sequence[str]) -> list[str]: ...

    def __call__(self, texts):
        """``model("a text")`` -> its label; ``model([...])`` -> a label per text."""
        if isinstance(texts, str):
            return self.predict([texts])[0]
        return self.predict(texts)
