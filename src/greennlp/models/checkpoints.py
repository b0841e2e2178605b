"""Model folders on disk: weights without tied duplicates, tokenizer and metadata.

Every saved model is a folder: its weights (safetensors, or ONNX / a torch state for
int8 variants), ``tokenizer.json`` and a JSON metadata file with what rebuilds the model.
:func:`greennlp.models.load_model` reopens any of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # torch is imported by the functions that need it (this module is light)
    import torch

META_NAME = "greennlp_model.json"


def unwrap(module: torch.nn.Module) -> torch.nn.Module:
    """The model inside a DistributedDataParallel wrapper (or the model itself)."""
    return getattr(module, "module", module)


def state_without_ties(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict with each shared tensor once (safetensors refuses duplicates, e.g.
    an output layer tied to the embedding); the module's constructor ties them again."""
    state, seen = {}, set()
    for key, value in unwrap(module).state_dict().items():
        ptr = value.untyped_storage().data_ptr() if value.numel() else id(value)
        if ptr not in seen:
            seen.add(ptr)
            state[key] = value.detach().contiguous().cpu()
    return state


def load_weights(module: torch.nn.Module, path: Path) -> torch.nn.Module:
    """Load weights saved by :func:`state_without_ties`; only tied tensors may be missing."""
    from safetensors.torch import load_file

    module = unwrap(module)
    missing, unexpected = module.load_state_dict(load_file(str(path)), strict=False)
    tied = set(module.state_dict()) - set(state_without_ties(module))
    if unexpected or set(missing) - tied:
        raise ValueError(f"weights in {path} do not match the model: missing "
                         f"{sorted(set(missing) - tied)}, unexpected {unexpected}")
    return module


def write_folder(folder: Path, tokenizer: Any, meta: dict[str, Any],
                 write_weights: Callable[[Path], None], meta_name: str = META_NAME) -> Path:
    """A model folder: the weights (written by ``write_weights``), tokenizer and metadata."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_weights(folder)
    tokenizer.save(str(folder / "tokenizer.json"))
    (folder / meta_name).write_text(json.dumps(meta, indent=2, default=str))
    return folder


def read_meta(folder: Path, meta_name: str = META_NAME) -> dict[str, Any]:
    """The metadata of a model folder."""
    return json.loads((Path(folder) / meta_name).read_text())


def read_folder(folder: Path, meta_name: str = META_NAME) -> tuple[dict[str, Any], Any]:
    """The metadata and (``tokenizers``) tokenizer of a folder written by :func:`write_folder`."""
    from tokenizers import Tokenizer

    return read_meta(folder, meta_name), Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
