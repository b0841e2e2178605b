"""What a loaded classifier offers a service: labels for texts, as a call.

Every classifier greennlp loads (:func:`greennlp.models.load_model`) has ``labels`` and
``predict_proba(texts, batch_size)``; :class:`Predicts` adds ``predict(texts)`` and
``model(texts)``, which return label names, the way scikit-learn estimators and
``transformers`` pipelines are used.

Every subclass's ``predict_proba`` takes its texts through :func:`as_texts`: a bare
string is one text (not one text per character), and anything that is not a string
(None, a number, bytes) is refused in one sentence.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence, overload

import numpy as np

from greennlp.errors import UserError


def as_texts(texts: Any) -> list[str]:
    """``texts`` as a list of strings: a bare string is one text; None, numbers or bytes
    among them are refused with :class:`UserError`.

    >>> as_texts("a fine film"), as_texts(("a", "b"))
    (['a fine film'], ['a', 'b'])
    """
    if isinstance(texts, str):
        return [texts]
    try:
        texts = list(texts)
    except TypeError:
        raise UserError(f"predict_proba takes a list of texts, got a {type(texts).__name__}; "
                        f"pass e.g. ['a fine film'].") from None
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise UserError(f"Text {i} given to the model is {repr(text)[:60]} (a "
                            f"{type(text).__name__}), not a string; pass every text as a str "
                            f"and drop missing ones.")
    return texts


def _checking_texts(method):
    @functools.wraps(method)
    def checked(self, texts, *args, **kwargs):
        return method(self, as_texts(texts), *args, **kwargs)
    checked.checks_texts = True
    return checked


class Predicts:
    """``predict`` and ``__call__`` from ``predict_proba`` and ``labels`` (a mixin)."""

    labels: list[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("predict_proba")
        if own is not None and not getattr(own, "checks_texts", False):
            cls.predict_proba = _checking_texts(own)

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
        texts = as_texts(texts)
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
