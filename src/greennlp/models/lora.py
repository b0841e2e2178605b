"""Low-rank adapters (LoRA, Hu et al. 2022) through ``peft``: added to a causal LM for
training, saved alone (a few MB instead of the whole model), merged into the weights for
sampling (merged, the model runs as fast as the base; unmerged, every adapted layer does
two more small matmuls).

``peft`` ships with the ``pretrained`` extra; :func:`missing` says when it is absent.
"""

from __future__ import annotations

import importlib.util
import warnings
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
    from peft import LoraConfig

    config = LoraConfig(r=spec.rank, lora_alpha=spec.alpha, lora_dropout=0.0,
                        target_modules=list(spec.targets), bias="none")
    return wrap(module, config)


def wrap(module: torch.nn.Module, config: Any) -> torch.nn.Module:
    """``peft.get_peft_model(module, config)``, without the FutureWarning peft triggers by
    reading an attribute transformers 5 deprecates (nothing the user can act on)."""
    from peft import get_peft_model

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing",
                                category=FutureWarning)
        return get_peft_model(module, config)


def adapter_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The adapters' weights alone (what :func:`load_adapters` puts back). greennlp never
    resizes a vocabulary, so no embedding matrix is saved with them (peft's ``auto``
    looks for the base model's config to decide, and warns where it is a local folder)."""
    from peft import get_peft_model_state_dict

    state = get_peft_model_state_dict(module, save_embedding_layers=False)
    return {k: v.detach().contiguous().cpu() for k, v in state.items()}


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
