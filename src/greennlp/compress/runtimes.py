"""The fastest runtime for a model, chosen by measurement on the machine at hand.

Candidates (each only where its packages are installed):

* ``onnx-fp32``: export with eager attention, ONNX Runtime's BERT fusion, fp32;
* ``onnx-int8-dynamic``: the same, then dynamic int8 of the weights (per channel);
* ``onnx-int8-static``: QDQ int8 of weights and activations, with activation ranges
  calibrated on training texts (no per-batch scales, so no batch dependence);
* ``openvino-fp32`` and ``openvino-int8``: OpenVINO's IR of the fused-free export, and
  NNCF post-training int8 (transformer preset) calibrated on the same texts.

No runtime is assumed faster: the int8 gains differ between AVX2 and AVX-512 VNNI
machines, and OpenVINO's CPU plugin picks bf16 for "fp32" layers where the CPU has it.
The frontier plan (:mod:`greennlp.compress.frontier`) builds every candidate of every
student, keeps those that agree with the torch student on dev, times them side by side
and records which runtime won for each student, and by how much.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from greennlp.compress.onnx_int8 import attention_shape, export_onnx, fuse, quantize_int8
from greennlp.models.classifier import EncoderClassifier
from greennlp.models.onnx import MODEL_FILE, OnnxClassifier

RUNTIMES = ("onnx-fp32", "onnx-int8-dynamic", "onnx-int8-static", "openvino-fp32",
            "openvino-int8")


def calibration_batches(clf: Any, texts: Sequence[str], n: int = 256, batch_size: int = 32,
                        seed: int = 0) -> list[dict[str, np.ndarray]]:
    """``n`` training texts as padded int64 batches (the model's own padding)."""
    rng = np.random.default_rng(seed)
    picked = [texts[i] for i in rng.choice(len(texts), min(n, len(texts)), replace=False)]
    ids = clf.encode(picked)
    out = []
    for start in range(0, len(ids), batch_size):
        chunk = ids[start:start + batch_size]
        width = max(len(x) for x in chunk)
        input_ids = np.full((len(chunk), width), clf.pad_id, dtype=np.int64)
        mask = np.zeros((len(chunk), width), dtype=np.int64)
        for i, x in enumerate(chunk):
            input_ids[i, :len(x)], mask[i, :len(x)] = x, 1
        out.append({"input_ids": input_ids, "attention_mask": mask})
    return out


def quantize_static_qdq(path: Path, out: Path, batches: list[dict[str, np.ndarray]]) -> Path:
    """QDQ int8 (unsigned activations, signed per-channel weights) of every MatMul,
    activation ranges from ``batches`` (min-max)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(batches)

        def get_next(self):
            return next(self.items, None)

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_static(str(path), str(out), Reader(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        per_channel=True, op_types_to_quantize=["MatMul"],
                        extra_options={"MatMulConstBOnly": True})
    finally:
        root.setLevel(level)
    return out


def _onnx(clf: EncoderClassifier, folder: Path, kind: str,
          batches: list[dict[str, np.ndarray]]) -> OnnxClassifier:
    """One ONNX Runtime candidate, written to ``folder / model.onnx``."""
    folder.mkdir(parents=True, exist_ok=True)
    exported = export_onnx(clf, folder / "export.onnx")
    path = folder / "fused.onnx"
    ops = fuse(exported, path, *attention_shape(clf.model.config))
    if kind == "onnx-int8-dynamic":
        path = quantize_int8(path, folder / "int8.onnx")
    elif kind == "onnx-int8-static":  # QDQ on the unfused graph: every MatMul quantized
        path = quantize_static_qdq(exported, folder / "int8.onnx", batches)
    final = path.rename(folder / MODEL_FILE)
    for left in ("export.onnx", "fused.onnx", "int8.onnx"):
        (folder / left).unlink(missing_ok=True)
    meta = {"hf_config": clf.model.config.to_dict(), "counts": clf.parameter_counts(),
            "pad_id": clf.pad_id, "source": {"method": "runtime", "runtime": kind,
                                             "fused_operators": ops}}
    return OnnxClassifier(final, clf.tokenizer, clf.labels, clf.max_length, clf.family, meta)


def _openvino(clf: EncoderClassifier, folder: Path, kind: str,
              batches: list[dict[str, np.ndarray]]) -> Any:
    """One OpenVINO candidate (IR in ``folder``), int8 through NNCF's post-training
    quantization with the transformer preset."""
    import openvino as ov

    from greennlp.models.openvino import MODEL_XML, OpenVinoClassifier

    folder.mkdir(parents=True, exist_ok=True)
    exported = export_onnx(clf, folder / "export.onnx")
    model = ov.convert_model(str(exported))
    if kind == "openvino-int8":
        import nncf

        nncf.set_log_level(logging.ERROR)
        with contextlib.redirect_stdout(io.StringIO()):  # its progress bars
            model = nncf.quantize(model, nncf.Dataset(batches),
                                  model_type=nncf.ModelType.TRANSFORMER,
                                  subset_size=sum(len(b["input_ids"]) for b in batches))
    ov.save_model(model, str(folder / MODEL_XML), compress_to_fp16=False)
    exported.unlink()
    meta = {"hf_config": clf.model.config.to_dict(), "counts": clf.parameter_counts(),
            "pad_id": clf.pad_id, "source": {"method": "runtime", "runtime": kind}}
    return OpenVinoClassifier(folder / MODEL_XML, clf.tokenizer, clf.labels, clf.max_length,
                              clf.family, meta)


def available_runtimes() -> dict[str, str | None]:
    """Each runtime and why it cannot run here (None: it can)."""
    from greennlp.models.openvino import available

    why = available()
    return {k: (why if k.startswith("openvino") else None) for k in RUNTIMES}


def build(clf: EncoderClassifier, kind: str, folder: Path, calibration: Sequence[str]) -> Any:
    """The ``kind`` runtime of ``clf`` in ``folder`` (calibrated on ``calibration``)."""
    if kind not in RUNTIMES:
        raise ValueError(f"unknown runtime {kind!r}; known: {RUNTIMES}")
    batches = calibration_batches(clf, list(calibration))
    make = _openvino if kind.startswith("openvino") else _onnx
    return make(clf, Path(folder), kind, batches)


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (timings on a shared machine need them)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None
