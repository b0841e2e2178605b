"""Compression that pays, and an audit of what it forgot.

One :class:`~greennlp.compress.base.Compressor` per method, each in its own file:

* :mod:`~greennlp.compress.pruning` - magnitude (and random) pruning, one-shot or
  gradual, global or per layer, with fine-tuning;
* :mod:`~greennlp.compress.quantize` - PyTorch dynamic int8;
* :mod:`~greennlp.compress.onnx_int8` - ONNX export, fusion and ONNX Runtime int8;
* :mod:`~greennlp.compress.distill` - a smaller student on soft and true labels;
* :mod:`~greennlp.compress.exit_classifier` - early exit with calibrated exits.

The audit (:mod:`~greennlp.compress.pie`, :mod:`~greennlp.compress.population`) finds
the test examples that compressed populations get differently from dense ones, and
:mod:`~greennlp.compress.stages` wires everything into a run.
"""

from greennlp.compress.base import CompressedModel, Compressor, Context

__all__ = ["CompressedModel", "Compressor", "Context"]
