"""The one model loader: any folder greennlp saved, back into the model that saved it.

A folder's format is read from the files in it (and its metadata), so checkpoints
written before the format was recorded load too. Every format and its class:

===============================  ===========================================================
folder holds                     model
===============================  ===========================================================
``model.joblib``                 :class:`~greennlp.models.tfidf.TfidfLogReg`
``greennlp_onnx.json``           :class:`~greennlp.models.onnx.OnnxClassifier`
``model_int8.pt``                :class:`~greennlp.models.int8.TorchInt8Classifier`
``ngram.npz``                    :class:`~greennlp.models.ngram.NgramLM`
metadata with ``exit_layers``    :class:`~greennlp.models.early_exit.EarlyExitClassifier`
metadata with ``mask_fraction``  :class:`~greennlp.models.mlm.MaskedLM`
metadata with ``spec``           :class:`~greennlp.models.neural_lm.NeuralLM`
other metadata                   :class:`~greennlp.models.classifier.EncoderClassifier`
===============================  ===========================================================
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from greennlp.models.checkpoints import META_NAME, read_meta


def _tfidf(folder: Path) -> Any:
    from greennlp.models.tfidf import TfidfLogReg

    return TfidfLogReg.load(folder)


def _onnx(folder: Path) -> Any:
    from greennlp.models.onnx import OnnxClassifier

    return OnnxClassifier.load(folder)


def _int8(folder: Path) -> Any:
    from greennlp.models.int8 import TorchInt8Classifier

    return TorchInt8Classifier.load(folder)


def _ngram(folder: Path) -> Any:
    from greennlp.models.ngram import NgramLM

    return NgramLM.load(folder)


def _by_metadata(folder: Path) -> Any:
    meta = read_meta(folder)
    if "exit_layers" in meta:
        from greennlp.models.early_exit import EarlyExitClassifier

        return EarlyExitClassifier.load(folder)
    if "mask_fraction" in meta:
        from greennlp.models.mlm import MaskedLM

        return MaskedLM.load(folder)
    if "spec" in meta:
        from greennlp.models.neural_lm import NeuralLM

        return NeuralLM.load(folder)
    from greennlp.models.classifier import EncoderClassifier

    return EncoderClassifier.load(folder)


# The file whose presence names the format, checked in this order.
FORMATS: list[tuple[str, Callable[[Path], Any]]] = [
    ("model.joblib", _tfidf), ("greennlp_onnx.json", _onnx), ("model_int8.pt", _int8),
    ("ngram.npz", _ngram), (META_NAME, _by_metadata),
]


def load_model(folder: str | Path) -> Any:
    """Reopen a model or compressed variant from the folder it was saved to.

    Raises
    ------
    FileNotFoundError
        When the folder holds no model greennlp saved.
    """
    folder = Path(folder)
    for marker, load in FORMATS:
        if (folder / marker).exists():
            return load(folder)
    raise FileNotFoundError(f"{folder} holds no saved greennlp model")
