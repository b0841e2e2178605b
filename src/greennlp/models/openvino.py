"""An encoder classifier run by OpenVINO (fp32, or int8 after NNCF), loaded from its IR.

OpenVINO is optional (``pip install 'greennlp[openvino]'``); the compressor that
converts a model and decides whether OpenVINO is worth it on this machine is
:mod:`greennlp.compress.runtimes`. Batching, padding and the probabilities are those of
:class:`~greennlp.models.onnx.OnnxClassifier`; only the compiled model differs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from greennlp.models.checkpoints import read_folder, write_folder
from greennlp.models.onnx import OnnxClassifier

MODEL_XML = "openvino_model.xml"
INSTALL_HINT = "pip install 'greennlp[openvino]'"


def available() -> str | None:
    """None when OpenVINO can run here, else why not."""
    import importlib.util

    if importlib.util.find_spec("openvino") is None:
        return f"OpenVINO is not installed ({INSTALL_HINT})"
    return None


def compile_ir(path: Path, threads: int | None = None) -> Any:
    """A CPU-compiled OpenVINO model: one stream over ``threads`` threads (the threads the
    run gave torch), tuned for latency, which on 2 cores is also the best throughput."""
    import openvino as ov

    if threads is None:
        import torch

        threads = torch.get_num_threads()
    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads,
              "NUM_STREAMS": 1}
    return ov.Core().compile_model(str(path), "CPU", config)


class OpenVinoClassifier(OnnxClassifier):
    """Tokenizer + an OpenVINO compiled model + labels; predicts like an EncoderClassifier."""

    def _open(self) -> Any:
        compiled = compile_ir(self.path)
        self._request = compiled.create_infer_request()
        return compiled

    def _logits(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        result = self._request.infer(arrays)
        return np.asarray(next(iter(result.values())))

    def precision(self) -> str:
        """The precision OpenVINO chose for floating-point layers on this CPU."""
        return str(self.session.get_property("INFERENCE_PRECISION_HINT"))

    def save(self, folder: Path) -> Path:
        """Write the IR (xml + bin), the tokenizer and the metadata to ``folder``."""
        import openvino as ov

        meta = {**self.meta, "labels": self.labels, "family": self.family,
                "max_length": self.max_length}
        model = ov.Core().read_model(str(self.path))  # read before the folder is replaced
        return write_folder(folder, meta, tokenizer=self.tokenizer,
                            files=lambda f: ov.save_model(model, str(f / MODEL_XML),
                                                          compress_to_fp16=False),
                            reads_from=self.path.parent)

    @classmethod
    def load(cls, folder: Path) -> "OpenVinoClassifier":
        """Open a folder written by :meth:`save`."""
        meta, tokenizer = read_folder(folder)
        return cls(Path(folder) / MODEL_XML, tokenizer, meta["labels"], meta["max_length"],
                   meta["family"], meta)
