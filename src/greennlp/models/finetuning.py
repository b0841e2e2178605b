"""Which weights of a pretrained encoder classifier train (``<section>.finetune``): all of
them, LoRA (Hu et al. 2022) or IA3 (Liu et al. 2022) adapters through ``peft``, or the
upper layers only, with the embeddings and the lowest layers frozen (the AdapterDrop idea,
Rücklé et al. 2021: no backward pass through the frozen layers at all).

:func:`prepare` sets a freshly built classifier up for its method before training;
:func:`finish` afterwards adds the adapters into the weights, so the trained model is a
plain ``transformers`` classifier that evaluates, exports and compresses like any other
(merged, it runs as fast as the base model), and keeps the adapter alone for
:meth:`~greennlp.models.classifier.EncoderClassifier.save`, which writes it beside the
model in peft's own format (``adapter/``: ``adapter_config.json`` and
``adapter_model.safetensors``, which ``peft.PeftModel.from_pretrained`` opens over the
base model).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from greennlp.errors import UserError

ADAPTER_DIR = "adapter"
INSTALL_HINT = "pip install 'greennlp[pretrained]'"


def trainable_counts(module: torch.nn.Module) -> dict[str, int]:
    """Trainable and total parameters (each shared tensor once) and the bytes of the
    trainable ones: what must be stored per task when the rest is the shared base."""
    seen: set[int] = set()
    total = trainable = trainable_bytes = 0
    for p in module.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
            trainable_bytes += p.numel() * p.element_size()
    return {"trainable_params": trainable, "total_params": total,
            "trainable_bytes": trainable_bytes}


def _encoder_parts(model: torch.nn.Module) -> tuple[torch.nn.Module, list[torch.nn.Module]]:
    """The embeddings and the list of layers of a ``transformers`` encoder classifier."""
    base = getattr(model, model.base_model_prefix, None)
    embeddings = getattr(base, "embeddings", None)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if embeddings is None or layers is None:
        raise UserError(f"finetune.method=freeze needs an encoder with embeddings and "
                        f"encoder.layer ({type(model).__name__} has not); use lora or full.")
    return embeddings, list(layers)


def freeze_lower(model: torch.nn.Module, layers: int) -> None:
    """Fix the embeddings and the lowest ``layers`` encoder layers (no gradient, no
    optimizer state, and no backward pass below the first layer that trains)."""
    embeddings, blocks = _encoder_parts(model)
    for module in [embeddings] + blocks[:layers]:
        for p in module.parameters():
            p.requires_grad_(False)


def _peft_config(cfg: Any, model_type: str):
    from peft import IA3Config, LoraConfig, TaskType

    targets = list(cfg.targets) or None  # None: peft's default for the architecture
    if cfg.method == "lora":
        return LoraConfig(task_type=TaskType.SEQ_CLS, r=cfg.lora_r, lora_alpha=cfg.lora_alpha,
                          lora_dropout=cfg.lora_dropout, target_modules=targets, bias="none")
    feedforward = [t for t in (targets or []) if "output" in t or "fc" in t or "mlp" in t]
    return IA3Config(task_type=TaskType.SEQ_CLS, target_modules=targets,
                     feedforward_modules=feedforward if targets else None)


def add_adapters(model: torch.nn.Module, cfg: Any) -> torch.nn.Module:
    """``model`` wrapped by peft with ``cfg.method``'s adapters (the classification head
    trains too: peft keeps a trainable copy of it for sequence classification)."""
    from greennlp.models import lora

    why = lora.missing()
    if why:
        raise UserError(f"finetune.method={cfg.method}: {why}; or set finetune.method=full.")
    from peft import get_peft_model

    model_type = getattr(model.config, "model_type", "bert")
    try:
        return get_peft_model(model, _peft_config(cfg, model_type))
    except ValueError as err:  # unknown targets or an architecture peft has no default for
        raise UserError(f"finetune.method={cfg.method} cannot adapt this {model_type!r} "
                        f"model ({err}); name its linear layers in finetune.targets.") from None


def prepare(classifier: Any, cfg: Any, base_model: str | None = None) -> Any:
    """Set ``classifier`` (an :class:`~greennlp.models.classifier.EncoderClassifier` just
    built) up for fine-tuning method ``cfg.method``; returns it. Its ``finetune`` attribute
    then holds the facts the record keeps (method, settings, trainable and total
    parameters, the bytes of the trainable ones: what must be stored per task).
    ``base_model`` names the base (a Hub id; None for a local folder) in the adapter's
    config."""
    if cfg.method == "freeze":
        freeze_lower(classifier.model, cfg.freeze_layers)
    elif cfg.method in ("lora", "ia3"):
        classifier.model = add_adapters(classifier.model, cfg)
    counts = trainable_counts(classifier.model)
    classifier.finetune = {"method": cfg.method, **_settings(cfg), **counts,
                           "stored_bytes": counts["trainable_bytes"], "base_model": base_model}
    return classifier


def _settings(cfg: Any) -> dict[str, Any]:
    if cfg.method == "lora":
        return {"lora_r": cfg.lora_r, "lora_alpha": cfg.lora_alpha,
                "lora_dropout": cfg.lora_dropout, "targets": list(cfg.targets)}
    if cfg.method == "ia3":
        return {"targets": list(cfg.targets)}
    if cfg.method == "freeze":
        return {"freeze_layers": cfg.freeze_layers}
    return {}


def is_adapted(model: torch.nn.Module) -> bool:
    """Whether ``model`` is wrapped by peft (adapters not merged yet)."""
    return hasattr(model, "merge_and_unload") and hasattr(model, "peft_config")


def finish(classifier: Any) -> Any:
    """After training: keep the adapter alone (peft's files, :func:`adapter_files`) and add
    it into the weights, so ``classifier.model`` is a plain classifier again. Every
    parameter trains again afterwards (a later step such as distillation or a pruning
    fine-tune sees an ordinary model)."""
    model = classifier.model
    if is_adapted(model):
        base = (classifier.finetune or {}).get("base_model")
        classifier.adapter_files = adapter_files(model, base)
        classifier.model = model.merge_and_unload()
    for p in classifier.model.parameters():
        p.requires_grad_(True)
    return classifier


def adapter_files(model: torch.nn.Module, base_model: str | None) -> dict[str, bytes]:
    """The adapter of a peft-wrapped ``model`` as peft's two files (``adapter_config.json``,
    ``adapter_model.safetensors``: what ``PeftModel.from_pretrained`` opens). ``base_model``
    is what the config names as its base: a Hub id, or None where the base is a local
    folder (whose path is not published)."""
    from peft import get_peft_model_state_dict
    from safetensors.torch import save

    config = model.peft_config["default"].to_dict()
    config["base_model_name_or_path"] = base_model
    config = {k: sorted(v) if isinstance(v, set) else v for k, v in config.items()}
    state = {k: v.detach().contiguous().cpu() for k, v in get_peft_model_state_dict(model).items()}
    return {"adapter_config.json": json.dumps(config, indent=2, default=str).encode(),
            "adapter_model.safetensors": save(state, metadata={"format": "pt"})}


def read_adapter(folder: Path) -> dict[str, bytes] | None:
    """The adapter files saved in ``folder/adapter`` (None when there are none)."""
    sub = Path(folder) / ADAPTER_DIR
    if not sub.is_dir():
        return None
    return {f.name: f.read_bytes() for f in sorted(sub.iterdir()) if f.is_file()}


def write_adapter(folder: Path, files: dict[str, bytes]) -> Path:
    """Write adapter files (:func:`adapter_files`) into ``folder``; returns it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder
