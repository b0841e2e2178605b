"""Run inside the Optimum virtual environment (transformers < 4.58): Optimum's documented
ONNX path for a fine-tuned sequence classifier, at each level a user would try.

Usage: ``python optimum_export.py MODEL_FOLDER OUT_FOLDER``. Writes, each in its own
folder under OUT_FOLDER with the tokenizer: ``exported`` (``ORTModel...from_pretrained(
export=True)``), ``O3`` and ``O4`` (``ORTOptimizer`` with ``AutoOptimizationConfig``; O4
adds fp16, which Optimum documents for GPUs: kept only if it runs here), and
``[O3-]int8-dynamic[-per-channel]`` (``ORTQuantizer`` with ``AutoQuantizationConfig``
for this CPU: AVX-512 VNNI, AVX-512 or AVX2, on the O3 graph as Optimum's docs do, and on
the exported graph). Prints a JSON
summary (versions, what was made, what failed and why) on its last line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def cpu_config(is_static: bool, per_channel: bool):
    """Optimum's quantization preset for the instruction set this CPU has."""
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    if "avx512_vnni" in flags:
        return "avx512_vnni", AutoQuantizationConfig.avx512_vnni(is_static=is_static, per_channel=per_channel)
    if "avx512" in flags:
        return "avx512", AutoQuantizationConfig.avx512(is_static=is_static, per_channel=per_channel)
    return "avx2", AutoQuantizationConfig.avx2(is_static=is_static, per_channel=per_channel)


def v4_copy(folder: Path, copy: Path) -> Path:
    """The checkpoint as transformers 4 reads it: transformers 5 names its tokenizer class
    ``TokenizersBackend`` in tokenizer_config.json, which 4.x does not know; the class
    that reads the same tokenizer.json in 4.x is ``PreTrainedTokenizerFast``."""
    import shutil

    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(folder, copy)
    config = copy / "tokenizer_config.json"
    data = json.loads(config.read_text())
    if data.get("tokenizer_class") == "TokenizersBackend":
        data["tokenizer_class"] = "PreTrainedTokenizerFast"
        config.write_text(json.dumps(data, indent=2))
    return copy


def main() -> None:
    import optimum
    import transformers
    from optimum.onnxruntime import ORTModelForSequenceClassification, ORTOptimizer, ORTQuantizer
    from optimum.onnxruntime.configuration import AutoOptimizationConfig
    from transformers import AutoTokenizer

    source, out = v4_copy(Path(sys.argv[1]), Path(sys.argv[2]) / "source"), Path(sys.argv[2])
    summary = {"transformers": transformers.__version__, "made": {}, "failed": {}}
    try:
        import importlib.metadata as md

        summary["optimum"] = md.version("optimum")
        summary["optimum_onnx"] = md.version("optimum-onnx")
        summary["onnxruntime"] = md.version("onnxruntime")
    except Exception:  # versions are informative only
        summary["optimum"] = getattr(optimum, "__version__", "?")
    tokenizer = AutoTokenizer.from_pretrained(source)
    exported = out / "exported"
    model = ORTModelForSequenceClassification.from_pretrained(source, export=True)
    model.save_pretrained(exported)
    tokenizer.save_pretrained(exported)
    summary["made"]["exported"] = str(exported)
    for level in ("O3", "O4"):
        target = out / level
        try:
            optimizer = ORTOptimizer.from_pretrained(model)
            optimizer.optimize(save_dir=target,
                               optimization_config=getattr(AutoOptimizationConfig, level)())
            tokenizer.save_pretrained(target)
            ORTModelForSequenceClassification.from_pretrained(target)(
                **tokenizer(["a test"], return_tensors="pt"))  # runs here at all?
            summary["made"][level] = str(target)
        except Exception as exc:  # O4 (fp16) is for GPUs: record why it failed
            summary["failed"][level] = f"{type(exc).__name__}: {str(exc)[:300]}"
    # Optimum's docs quantize the optimized graph; where that fails (ONNX Runtime's
    # quantizer cannot type the outputs of fused operators), the exported one.
    for base, file_name in ((out / "O3", "model_optimized.onnx"), (exported, "model.onnx")):
        for per_channel in (False, True):
            name = ("O3-" if base.name == "O3" else "") + "int8-dynamic" + (
                "-per-channel" if per_channel else "")
            try:
                isa, qconfig = cpu_config(False, per_channel)
                quantizer = ORTQuantizer.from_pretrained(base, file_name=file_name)
                quantizer.quantize(save_dir=out / name, quantization_config=qconfig)
                tokenizer.save_pretrained(out / name)
                summary["made"][name] = str(out / name)
                summary["isa"] = isa
            except Exception as exc:
                summary["failed"][name] = f"{type(exc).__name__}: {str(exc)[:300]}"
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
