"""The one model loader: any folder greennlp saved, back into the model that saved it.

Every model folder names its family in ``greennlp_model.json``; the family's loader (in
the family table) opens it. Compressed variants that change the format are recognised
first, by their files: ONNX Runtime (``model.onnx``; its metadata was
``greennlp_onnx.json`` before one writer wrote every folder), OpenVINO
(``openvino_model.xml``), PyTorch int8
(``model_int8.pt``) and early exit (``exit_layers`` in the metadata). Two kinds of
folders written by greennlp 0.1 load too: a TF-IDF folder without metadata (it holds
``model.joblib`` alone) and a distilled student, whose metadata named the family
``student`` (an encoder classifier: its metadata holds ``hf_config``). A ``transformers``
sequence classifier folder that greennlp did not write (``config.json`` and weights, no
metadata) opens as a ``pretrained`` encoder classifier.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from greennlp.models.checkpoints import META_NAME, read_meta
from greennlp.models.families import FAMILIES


def load_model(folder: str | Path) -> Any:
    """Reopen a model or compressed variant from the folder it was saved to.

    Raises
    ------
    FileNotFoundError
        When the folder holds no model greennlp can load.
    """
    folder = Path(folder)
    if (folder / "model.onnx").exists() or (folder / "greennlp_onnx.json").exists():
        from greennlp.models.onnx import OnnxClassifier

        return OnnxClassifier.load(folder)
    if (folder / "openvino_model.xml").exists():
        from greennlp.models.openvino import OpenVinoClassifier

        return OpenVinoClassifier.load(folder)
    if (folder / "model_int8.pt").exists():
        from greennlp.models.int8 import TorchInt8Classifier

        return TorchInt8Classifier.load(folder)
    meta = read_meta(folder) if (folder / META_NAME).exists() else {}
    if "exit_layers" in meta:
        from greennlp.models.early_exit import EarlyExitClassifier

        return EarlyExitClassifier.load(folder)
    name = meta.get("family") or ("tfidf_logreg" if (folder / "model.joblib").exists() else None)
    fam = FAMILIES.get(name) if name else None
    if fam is None and "hf_config" in meta:
        from greennlp.models.classifier import EncoderClassifier

        return EncoderClassifier.load(folder)
    if fam is None and not meta and (folder / "config.json").exists():
        from greennlp.models.hf_format import has_weights

        if has_weights(folder):
            from greennlp.models.pretrained import open_classifier

            return open_classifier(folder)
    if fam is None or fam.load is None:
        raise FileNotFoundError(f"{folder} holds no model greennlp can load"
                                + (f" (family {name!r} has no loader)" if name else ""))
    return fam.load(folder)
