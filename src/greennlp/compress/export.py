"""``greennlp export``: a run's model in the format the next tool opens.

``adapter``: a model fine-tuned with LoRA or IA3 (``finetune.method``) as its adapter
alone, in peft's format, to be loaded over the base model (``hf`` writes it merged).

``hf``: a ``transformers`` folder (``save_pretrained``: ``config.json`` with ``id2label``,
``model.safetensors``, tokenizer files), which ``AutoModelForSequenceClassification`` and
``transformers.pipeline("text-classification", model=folder)`` open.

``onnx``: ``model.onnx`` with the tokenizer (``tokenizer.json`` and the ``transformers``
tokenizer files) and ``config.json`` (label names), runnable by plain ONNX Runtime::

    inputs   input_ids       int64 [batch, sequence]   token ids, padded with the pad id
             attention_mask  int64 [batch, sequence]   1 for tokens, 0 for padding
    outputs  logits          float32 [batch, num_labels]   softmax gives the probabilities

``openvino``: an OpenVINO variant of the run (the frontier plan's ``openvino-*``) as it
runs: ``openvino_model.xml`` / ``.bin`` (same inputs and output) with the same tokenizer
and ``config.json`` files.

Token type ids are not inputs: every model greennlp trains classifies single texts
(segment 0). A fine-tuned model is exported in fp32; an ONNX variant of the run (the
int8 one) is copied as it is. A structurally pruned model whose layers keep fewer heads
carries the code that rebuilds it (``greennlp_pruned_heads.py``, ``auto_map``):
transformers opens its ``hf`` folder with ``trust_remote_code=True``. A PyTorch int8 model and an early-exit model cannot be
exported to ONNX as they run (packed int8 kernels; a per-example exit loop in Python):
the command says which variant to export instead.

Nothing in an export names a place on this machine: ``_name_or_path`` fields that hold a
local folder are emptied (:func:`scrub_local_paths`). An ONNX model with quantized
activations is measured at batch 1 against batch 32 (:func:`batch_dependence`), since
dynamic int8 computes activation scales per batch; the export's card states the result.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from greennlp.errors import UserError
from greennlp.models.checkpoints import META_NAME
from greennlp.record import ModelResult, RunRecord

FORMATS = ("onnx", "hf", "openvino", "adapter")
ONNX_SIGNATURE = {"inputs": {"input_ids": "int64 [batch, sequence]",
                             "attention_mask": "int64 [batch, sequence]"},
                  "outputs": {"logits": "float32 [batch, num_labels]"}}


def pick_model(record: RunRecord, name: str | None) -> ModelResult:
    """The model called ``name`` in the run (default: the one selected on dev)."""
    model = record.select() if not name else record.model(name)
    if model is None:
        known = ", ".join(m.name for m in record.models) or "none"
        raise UserError(f"Run {record.run_id} has no model {name!r}; export one of: {known}."
                        if name else f"Run {record.run_id} has no evaluated model to export.")
    if not model.checkpoint or not Path(model.checkpoint).exists():
        raise UserError(f"The folder of {model.name} in run {record.run_id} "
                        f"({model.checkpoint or 'none recorded'}) is missing; resume or rerun "
                        f"the run to write it again.")
    return model


def export_model(record: RunRecord, name: str | None, fmt: str, out: Path | None = None) -> Path:
    """Export model ``name`` of ``record`` (default: the selected one) as ``fmt`` into ``out``
    (default: ``exports/<model>-<fmt>`` in the run's folder); returns the folder."""
    from greennlp.models import load_model

    if fmt not in FORMATS:
        raise UserError(f"Unknown export format {fmt!r}; use one of {', '.join(FORMATS)}.")
    result = pick_model(record, name)
    out = export_folder(record, result.name, fmt, out)
    model = load_model(result.checkpoint)
    refusal = why_not(model, result.name, fmt)
    if refusal:
        raise UserError(refusal)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"Export folder {out} is not empty; choose another with --out or "
                        f"remove it.")
    # an OpenVINO variant's folder is written like an ONNX one: graph, tokenizer, config
    folder = (export_hf(model, out) if fmt == "hf" else export_adapter(model, out)
              if fmt == "adapter" else export_onnx_folder(model, out))
    scrub_local_paths(folder)
    return folder


def export_folder(record: RunRecord, name: str, fmt: str, out: Path | None = None) -> Path:
    """Where model ``name`` of ``record`` is exported as ``fmt``: ``out``, else
    ``exports/<model>-<fmt>`` in the run's folder."""
    return Path(out) if out else Path(record.run_dir) / "exports" / f"{safe(name)}-{fmt}"


PATH_KEYS = ("_name_or_path", "name_or_path")


def scrub_local_paths(folder: Path) -> None:
    """Empty the ``_name_or_path`` fields of the folder's JSON files that name a folder on
    this machine (a Hub id is kept): an export is published as it is."""
    for path in Path(folder).glob("*.json"):
        data = json.loads(path.read_text())
        if _scrub(data):
            path.write_text(json.dumps(data, indent=2, sort_keys=path.name != META_NAME) + "\n")


def _scrub(value: Any) -> bool:
    changed = False
    if isinstance(value, dict):
        for key, item in value.items():
            if key in PATH_KEYS and isinstance(item, str) and _is_local(item):
                value[key], changed = "", True
            else:
                changed = _scrub(item) or changed
    elif isinstance(value, list):
        for item in value:
            changed = _scrub(item) or changed
    return changed


def _is_local(name: str) -> bool:
    return bool(name) and (Path(name).expanduser().is_absolute() or name.startswith((".", "~"))
                           or name.count("/") > 1 or Path(name).exists())


def batch_dependence(model: Any, texts: list[str], batch: int = 32) -> dict[str, Any] | None:
    """How an ONNX model with quantized activations predicts ``texts`` one at a time
    against in batches of ``batch`` (None for any other model).

    Dynamic quantization (``DynamicQuantizeLinear``) computes each batch's activation scale
    from the batch itself, so a text's probabilities, and now and then its label, depend on
    the texts it is batched with; static (calibrated) scales do not.

    Returns
    -------
    dict or None
        ``dynamic`` (activation scales per batch), ``texts``, ``batch``,
        ``label_agreement`` (batch 1 against ``batch``), ``labels_differ`` and
        ``max_abs_diff`` (of the probabilities).
    """
    import numpy as np
    import onnx

    from greennlp.models.onnx import OnnxClassifier

    if not isinstance(model, OnnxClassifier) or not texts:
        return None
    ops = {node.op_type for node in onnx.load(str(model.path), load_external_data=False).graph.node}
    if not ops & {"DynamicQuantizeLinear", "QuantizeLinear"}:
        return None
    one, many = model.predict_proba(texts, 1), model.predict_proba(texts, batch)
    same = one.argmax(1) == many.argmax(1)
    return {"dynamic": "DynamicQuantizeLinear" in ops, "texts": len(texts), "batch": batch,
            "label_agreement": float(same.mean()), "labels_differ": int((~same).sum()),
            "max_abs_diff": float(np.abs(one - many).max())}


def safe(name: str) -> str:
    """A model name as a folder name (``minilm+int8-onnx`` -> ``minilm_int8-onnx``)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def why_not(model: Any, name: str, fmt: str) -> str | None:
    """Why ``model`` cannot be exported as ``fmt`` (one sentence), or None."""
    from greennlp.models.classifier import EncoderClassifier
    from greennlp.models.early_exit import EarlyExitClassifier
    from greennlp.models.int8 import TorchInt8Classifier
    from greennlp.models.onnx import OnnxClassifier
    from greennlp.models.openvino import OpenVinoClassifier

    if fmt == "adapter":
        return None if getattr(model, "adapter_files", None) else (
            f"{name} was not fine-tuned with adapters (finetune.method lora or ia3), so it has "
            f"no adapter to export; export it with --format hf or onnx.")
    if isinstance(model, OpenVinoClassifier) or fmt == "openvino":
        return None if isinstance(model, OpenVinoClassifier) and fmt == "openvino" else (
            f"{name} is an OpenVINO model; export it with --format openvino, or the model it "
            f"was made from with --format hf or onnx." if isinstance(model, OpenVinoClassifier)
            else f"{name} is not an OpenVINO model; export it with --format onnx (OpenVINO "
                 f"reads ONNX files) or hf.")
    if isinstance(model, TorchInt8Classifier):
        return (f"{name} runs PyTorch int8 kernels that neither ONNX nor transformers can "
                f"load; export the model it was made from, or its onnx-int8 variant.")
    if isinstance(model, EarlyExitClassifier):
        return (f"{name} decides per example in Python where to exit, which neither format "
                f"holds; export the model it was made from.")
    if isinstance(model, OnnxClassifier):
        return None if fmt == "onnx" else (f"{name} is already an ONNX model; export it with "
                                           f"--format onnx, or export the model it was made "
                                           f"from with --format hf.")
    if isinstance(model, EncoderClassifier):
        return None
    return (f"{name} is not a transformer classifier (family {getattr(model, 'family', '?')}), "
            f"which is all --format {fmt} exports; its run folder already holds it in its own "
            f"format (scikit-learn models: model.skops with its vocabulary.json, opened by "
            f"greennlp.load_model).")


def export_hf(model: Any, out: Path) -> Path:
    """A ``transformers`` folder (and greennlp's metadata, so greennlp reopens it too)."""
    return model.save(out)


def export_adapter(model: Any, out: Path) -> Path:
    """The adapter alone in peft's format (``adapter_config.json``,
    ``adapter_model.safetensors``), which ``peft.PeftModel.from_pretrained`` loads over the
    base model."""
    from greennlp.models.finetuning import write_adapter

    return write_adapter(out, model.adapter_files)


def export_onnx_folder(model: Any, out: Path) -> Path:
    """``model.onnx`` (fp32 export of a torch model, or the ONNX variant as it is), the
    tokenizer, ``config.json`` with the labels and ``greennlp_model.json``."""
    import tempfile

    from greennlp.compress.onnx_int8 import export_onnx
    from greennlp.models.hf_format import config_from_dict, quiet, save_tokenizer
    from greennlp.models.onnx import MODEL_FILE, OnnxClassifier

    if isinstance(model, OnnxClassifier):  # an OpenVINO variant too: saved as it runs
        config = config_from_dict(model.meta["hf_config"])
        model.save(out)
    else:
        config = model.model.config
        meta = {"hf_config": config.to_dict(), "counts": model.parameter_counts(),
                "pad_id": model.pad_id, "source": {"method": "export", "weights": "fp32"}}
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as scratch:
            path = export_onnx(model, Path(scratch) / MODEL_FILE)
            OnnxClassifier(path, model.tokenizer, model.labels, model.max_length,
                           model.family, meta).save(out)
    config.id2label = dict(enumerate(model.labels))
    config.label2id = {label: i for i, label in enumerate(model.labels)}
    if hasattr(config, "auto_map"):  # the torch code of a head-pruned model: not in this folder
        del config.auto_map
    with quiet():
        config.save_pretrained(out)
    save_tokenizer(model.tokenizer, model.max_length, out)
    (out / "onnx_signature.json").write_text(json.dumps(ONNX_SIGNATURE, indent=2))
    return out
