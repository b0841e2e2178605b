"""Low-rank adapters (LoRA, Hu et al. 2022) through ``peft``: added to a causal LM for
training, saved alone (a few MB instead of the whole model), merged into the weights for
sampling (merged, the model runs as fast as the base; unmerged, every adapted layer does
two more small matmuls).

``peft`` ships with the ``pretrained`` extra; :func:`missing` says when it is absent.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

import torch

INSTALL_HINT = "pip install 'greennlp[pretrained]'"


def missing() -> str | None:
    """Why LoRA cannot run here (peft is not installed), or None."""
    if importlib.util.find_spec("peft") is None:
        return f"LoRA needs the peft package (the pretrained extra: {INSTALL_HINT})"
    return None


@dataclass(frozen=True)
class LoraSpec:
    """What makes the adapters: rank, scale and the linear layers that get them."""

    rank: int
    alpha: float
    targets: tuple[str, ...]

    def describe(self) -> dict[str, Any]:
        return {"rank": self.rank, "alpha": self.alpha, "targets": list(self.targets)}


def add_lora(module: torch.nn.Module, spec: LoraSpec) -> torch.nn.Module:
    """``module`` with adapters on the ``spec.targets`` layers; only the adapters train.

    The adapters start at zero (peft's default), so the adapted model equals ``module``
    until it trains: the base model is the DPO reference exactly.
    """
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=spec.rank, lora_alpha=spec.alpha, lora_dropout=0.0,
                        target_modules=list(spec.targets), bias="none")
    return get_peft_model(module, config)


def adapter_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The adapters' weights alone (what :func:`load_adapters` puts back)."""
    from peft import get_peft_model_state_dict

    return {k: v.detach().contiguous().cpu() for k, v in get_peft_model_state_dict(module).items()}


def load_adapters(module: torch.nn.Module, state: dict[str, torch.Tensor]) -> torch.nn.Module:
    """Put saved adapter weights into a model made by :func:`add_lora` with the same spec."""
    from peft import set_peft_model_state_dict

    result = set_peft_model_state_dict(module, state)
    unexpected = getattr(result, "unexpected_keys", [])
    if unexpected:
        raise ValueError(f"adapter weights do not match the model: unexpected {unexpected[:3]}")
    return module


def merged(module: torch.nn.Module) -> torch.nn.Module:
    """The plain model with the adapters added into its weights."""
    return module.merge_and_unload()
