"""Dynamic int8 quantization of the linear layers in PyTorch.

Weights are stored as int8 with one scale per tensor; activations are quantized on the
fly per batch (``torch.ao.quantization.quantize_dynamic``, fbgemm/x86 kernels). The API
is deprecated in favour of torchao, which does not yet target this torch release; it is
still the reference that PyTorch users reach for, so the benchmark compares against it.
On this 2-core CPU the ONNX Runtime path (:mod:`greennlp.compress.onnx_int8`) is faster.
"""

from __future__ import annotations

from typing import Any

from greennlp.compress.base import Context
from greennlp.models.classifier import EncoderClassifier
from greennlp.models.int8 import TorchInt8Classifier, quantize_linear_int8

class TorchDynamicInt8:
    """Compressor: PyTorch dynamic int8 of every linear layer (no training)."""

    name = "int8-torch"

    def compress(self, model: EncoderClassifier, ctx: Context) -> TorchInt8Classifier:
        """A quantized copy of ``model``."""
        return TorchInt8Classifier(quantize_linear_int8(model.model), model.tokenizer,
                                   model.labels, model.max_length, model.family,
                                   model.parameter_counts())

    def describe(self) -> dict[str, Any]:
        return {"method": "quantization", "backend": "torch.ao.quantization.quantize_dynamic",
                "weights": "int8, per tensor", "activations": "int8, dynamic per batch",
                "layers": "nn.Linear"}
