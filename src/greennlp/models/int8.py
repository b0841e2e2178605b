"""An encoder classifier whose linear layers run in PyTorch dynamic int8.

Weights are stored as int8 with one scale per tensor; activations are quantized on the
fly per batch (``torch.ao.quantization.quantize_dynamic``, fbgemm/x86 kernels). The
compressor that makes it is :class:`greennlp.compress.quantize.TorchDynamicInt8`.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer
from torch import nn

from greennlp.models.checkpoints import read_folder, write_folder
from greennlp.models.classifier import EncoderClassifier, build_from_hf_config

WEIGHTS = "model_int8.pt"


def quantize_linear_int8(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose ``nn.Linear`` layers are dynamic int8."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the deprecation notice, on every call
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(copy.deepcopy(model).eval(), {nn.Linear}, dtype=torch.qint8)


class TorchInt8Classifier(EncoderClassifier):
    """An :class:`EncoderClassifier` whose linear layers run in dynamic int8.

    Quantized weights are packed objects that safetensors cannot hold, so the state
    dict is saved with ``torch.save``; loading rebuilds the fp32 model, quantizes it
    the same way and loads the int8 weights.
    """

    def __init__(self, model: nn.Module, tokenizer: Tokenizer, labels, max_length: int,
                 family: str, counts: dict[str, int]) -> None:
        super().__init__(model, tokenizer, labels, max_length, family)
        self.counts = counts

    def parameter_counts(self) -> dict[str, int]:
        """The fp32 model's counts: the same weights, stored in 8 bits."""
        return dict(self.counts)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "quantization": "torch dynamic int8 (nn.Linear)",
                "counts": self.counts}

    def save(self, folder: Path) -> Path:
        """Write the int8 state dict, tokenizer and config to ``folder``."""
        return write_folder(folder, self.describe(), tokenizer=self.tokenizer,
                            files=lambda f: torch.save(self.model.state_dict(), f / WEIGHTS))

    @classmethod
    def load(cls, folder: Path) -> "TorchInt8Classifier":
        """Rebuild the model saved by :meth:`save`."""
        meta, tokenizer = read_folder(folder)
        model = quantize_linear_int8(build_from_hf_config(meta["hf_config"]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # packed int8 weights use the old storage API
            model.load_state_dict(torch.load(Path(folder) / WEIGHTS, weights_only=False))
        return cls(model.eval(), tokenizer, meta["labels"], meta["max_length"], meta["family"], meta["counts"])
