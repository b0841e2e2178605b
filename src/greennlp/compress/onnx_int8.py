"""ONNX export, ONNX Runtime graph fusion and dynamic int8: the fastest CPU path measured
for BERT-shaped encoders on this kind of machine.

Steps (each with the library that does it): rebuild the model with eager attention
(the exporter traces it into plain MatMul/Softmax nodes that the fuser recognises),
``torch.onnx.export`` (TorchScript exporter, opset 17), fuse attention, GELU and layer
norms with ``onnxruntime.transformers.optimizer.optimize_model(model_type="bert")``,
then ``onnxruntime.quantization.quantize_dynamic`` (int8 weights, activations quantized
per batch). ``fuse=False`` or ``quantize=False`` give the plain variants the benchmark
compares against.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

from greennlp.compress.base import Context
from greennlp.models.classifier import EncoderClassifier, build_from_hf_config
from greennlp.models.onnx import MODEL_FILE, OnnxClassifier


def export_onnx(clf: EncoderClassifier, path: Path, attn: str = "eager") -> Path:
    """Export ``clf``'s model to ONNX with dynamic batch and sequence axes."""
    import torch

    model = build_from_hf_config(clf.model.config.to_dict(), attn=attn)
    model.load_state_dict(clf.model.state_dict())
    model.eval()
    batch = clf.collate(clf.encode(["an example sentence to trace", "another one"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow
        torch.onnx.export(model, (batch["input_ids"].cpu(), batch["attention_mask"].cpu()),
                          str(path), dynamo=False, opset_version=17,
                          input_names=["input_ids", "attention_mask"], output_names=["logits"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                        "attention_mask": {0: "batch", 1: "sequence"},
                                        "logits": {0: "batch"}})
    return path


def fuse(path: Path, out: Path, num_heads: int, hidden_size: int) -> dict[str, int]:
    """Fuse attention, GELU and layer norm subgraphs (ONNX Runtime's BERT optimizer).

    Returns the fused operator counts (an unfused attention shows up as zero there).
    """
    from onnxruntime.transformers.optimizer import optimize_model

    logging.getLogger("onnxruntime.transformers").setLevel(logging.ERROR)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # some fusions log on the root logger (a pruned model's
    try:  # attention width differs from its hidden size, which they note each time)
        optimized = optimize_model(str(path), model_type="bert", num_heads=num_heads,
                                   hidden_size=hidden_size, opt_level=0)
    finally:
        root.setLevel(level)
    optimized.save_model_to_file(str(out))
    return {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}


def attention_shape(config: Any) -> tuple[int, int]:
    """Heads and attention width for the fusion: the config's, or the heads a pruned
    model keeps (one count in every layer; else 0, 0: attention is then left unfused,
    since a wrong count fuses into a model that computes something else)."""
    from greennlp.models.pruned_heads import HEADS_KEY, head_size

    heads = getattr(config, HEADS_KEY, None)
    if not heads:
        return int(config.num_attention_heads), int(config.hidden_size)
    if len(set(heads)) != 1:
        return 0, 0
    return int(heads[0]), int(heads[0]) * head_size(config)


def quantize_int8(path: Path, out: Path, per_channel: bool = True) -> Path:
    """Dynamic int8 of the MatMul weights (ONNX Runtime's quantizer)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer logs advice on the root logger
    try:
        # Per-channel scales: on fine-tuned MiniLM, 97.7% dev agreement with fp32 instead of
        # 95% per tensor, at the same speed. Shape inference cannot type the outputs of
        # fused (com.microsoft) nodes; they are fp32.
        quantize_dynamic(str(path), str(out), weight_type=QuantType.QInt8, per_channel=per_channel,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        root.setLevel(level)
    return out


class OnnxRuntimeInt8:
    """Compressor: ONNX export (+ fusion) (+ dynamic int8), run by ONNX Runtime.

    Parameters
    ----------
    fused
        Fuse with ONNX Runtime's BERT optimizer (export with eager attention).
    quantized
        Dynamic int8 of the weights; False keeps fp32 (an export-only baseline).
    per_channel
        One int8 scale per output channel (else per tensor, the quantizer's default).
    """

    def __init__(self, fused: bool = True, quantized: bool = True, per_channel: bool = True) -> None:
        self.fused, self.quantized, self.per_channel = fused, quantized, per_channel
        self.fused_ops_: dict[str, int] = {}

    @property
    def name(self) -> str:
        return "onnx" + ("-int8" if self.quantized else "-fp32") + ("" if self.fused else "-unfused")

    def compress(self, model: EncoderClassifier, ctx: Context) -> OnnxClassifier:
        """Export, fuse and quantize ``model`` into ``ctx.work_dir``."""
        folder = Path(ctx.work_dir) / self.name
        folder.mkdir(parents=True, exist_ok=True)
        cfg = model.model.config
        path = export_onnx(model, folder / "export.onnx", attn="eager" if self.fused else "sdpa")
        if self.fused:
            self.fused_ops_ = fuse(path, folder / "fused.onnx", *attention_shape(cfg))
            path = folder / "fused.onnx"
        if self.quantized:
            path = quantize_int8(path, folder / "int8.onnx", self.per_channel)
        final = path.rename(folder / MODEL_FILE)
        for left in ("export.onnx", "fused.onnx", "int8.onnx"):  # intermediates, 4 bytes/weight
            (folder / left).unlink(missing_ok=True)
        meta = {"hf_config": cfg.to_dict(), "counts": model.parameter_counts(), "pad_id": model.pad_id,
                "source": self.describe()}
        return OnnxClassifier(final, model.tokenizer, model.labels, model.max_length,
                              model.family, meta)

    def describe(self) -> dict[str, Any]:
        import onnxruntime

        return {"method": "quantization" if self.quantized else "export",
                "backend": f"onnxruntime {onnxruntime.__version__}",
                "export": "torch.onnx.export (TorchScript, opset 17)",
                "fusion": "onnxruntime.transformers.optimizer (bert)" if self.fused else "none",
                "weights": ("fp32" if not self.quantized else
                            "int8, per output channel" if self.per_channel else "int8, per tensor"),
                "fused_operators": self.fused_ops_}
