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


def _lower_parts(model: torch.nn.Module) -> tuple[torch.nn.Module, list[torch.nn.Module]]:
    """The embeddings and the list of layers of a ``transformers`` encoder (``encoder.layer``)
    or decoder (``layers``)."""
    base = getattr(model, getattr(model, "base_model_prefix", ""), None) or model
    embeddings = getattr(base, "embeddings", None) or getattr(base, "embed_tokens", None)
    layers = getattr(getattr(base, "encoder", None), "layer", None) or getattr(base, "layers", None)
    if embeddings is None or layers is None:
        raise UserError(f"finetune.method=freeze needs a model with embeddings and a list of "
                        f"layers ({type(model).__name__} has not); use lora or full.")
    return embeddings, list(layers)


def freeze_lower(model: torch.nn.Module, layers: int) -> None:
    """Fix the embeddings and the lowest ``layers`` layers (no gradient, no optimizer
    state, and no backward pass below the first layer that trains)."""
    embeddings, blocks = _lower_parts(model)
    for module in [embeddings] + blocks[:layers]:
        for p in module.parameters():
            p.requires_grad_(False)


FEEDFORWARD = ("output", "fc", "mlp", "down_proj", "up_proj", "gate_proj")


def _peft_config(cfg: Any, task_type: str):
    from peft import IA3Config, LoraConfig

    targets = list(cfg.targets) or None  # None: peft's default for the architecture
    if cfg.method == "lora":
        return LoraConfig(task_type=task_type, r=cfg.lora_r, lora_alpha=cfg.lora_alpha,
                          lora_dropout=cfg.lora_dropout, target_modules=targets, bias="none")
    feedforward = [t for t in (targets or []) if any(f in t for f in FEEDFORWARD)]
    return IA3Config(task_type=task_type, target_modules=targets,
                     feedforward_modules=feedforward if targets else None)


def add_adapters(model: torch.nn.Module, cfg: Any, task_type: str = "SEQ_CLS"
                 ) -> torch.nn.Module:
    """``model`` wrapped by peft with ``cfg.method``'s adapters. ``task_type`` is peft's:
    ``SEQ_CLS`` (the classification head trains too: peft keeps a trainable copy of it) or
    ``CAUSAL_LM``."""
    from greennlp.models import lora

    why = lora.missing()
    if why:
        raise UserError(f"finetune.method={cfg.method}: {why}; or set finetune.method=full.")
    model_type = getattr(model.config, "model_type", "bert")
    try:
        return lora.wrap(model, _peft_config(cfg, task_type))
    except ValueError as err:  # unknown targets or an architecture peft has no default for
        raise UserError(f"finetune.method={cfg.method} cannot adapt this {model_type!r} "
                        f"model ({err}); name its linear layers in finetune.targets.") from None


def adapt_module(module: torch.nn.Module, cfg: Any, task_type: str = "SEQ_CLS"
                 ) -> tuple[torch.nn.Module, dict[str, Any]]:
    """``module`` set up for fine-tuning method ``cfg.method`` (wrapped by peft for lora and
    ia3, with its lower layers frozen for freeze) and the facts the record keeps (method,
    settings, trainable and total parameters, the bytes of the trainable ones: what must
    be stored per task)."""
    if cfg.method == "freeze":
        freeze_lower(module, cfg.freeze_layers)
    elif cfg.method in ("lora", "ia3"):
        module = add_adapters(module, cfg, task_type)
    counts = trainable_counts(module)
    return module, {"method": cfg.method, **_settings(cfg), **counts,
                    "stored_bytes": counts["trainable_bytes"]}


def merge_module(module: torch.nn.Module) -> torch.nn.Module:
    """The plain model: adapters added into the weights, every parameter trainable again."""
    if is_adapted(module):
        module = module.merge_and_unload()
    for p in module.parameters():
        p.requires_grad_(True)
    return module


def prepare(classifier: Any, cfg: Any, base_model: str | None = None) -> Any:
    """Set ``classifier`` (an :class:`~greennlp.models.classifier.EncoderClassifier` just
    built) up for fine-tuning method ``cfg.method`` (:func:`adapt_module`); returns it, its
    ``finetune`` attribute holding the facts. ``base_model`` names the base (a Hub id;
    None for a local folder) in the adapter's config."""
    classifier.model, facts = adapt_module(classifier.model, cfg)
    classifier.finetune = {**facts, "base_model": base_model}
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
    if is_adapted(classifier.model):
        base = (classifier.finetune or {}).get("base_model")
        classifier.adapter_files = adapter_files(classifier.model, base)
    classifier.model = merge_module(classifier.model)
    return classifier


def adapter_files(model: torch.nn.Module, base_model: str | None) -> dict[str, bytes]:
    """The adapter of a peft-wrapped ``model`` as peft's two files (``adapter_config.json``,
    ``adapter_model.safetensors``: what ``PeftModel.from_pretrained`` opens). ``base_model``
    is what the config names as its base: a Hub id, or None where the base is a local
    folder (whose path is not published)."""
    from safetensors.torch import save

    from greennlp.models.lora import adapter_state

    config = model.peft_config["default"].to_dict()
    config["base_model_name_or_path"] = base_model
    config = {k: sorted(v) if isinstance(v, set) else v for k, v in config.items()}
    state = adapter_state(model)
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
