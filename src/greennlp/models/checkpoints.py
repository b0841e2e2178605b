"""Model folders on disk: the one writer, weights without tied duplicates, tokenizer and
metadata.

Every saved model is a folder written by :func:`write_folder`, whatever its family:
``greennlp_model.json`` (its family and what rebuilds the model: labels, config, spec),
its weights (``model.safetensors``; a family whose weights are not tensors writes its own
files: a scikit-learn pipeline, n-gram counts, an ONNX graph, packed int8 kernels) and
``tokenizer.json``. :func:`greennlp.models.load_model` reopens any of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # torch is imported by the functions that need it (this module is light)
    import torch

META_NAME = "greennlp_model.json"
WEIGHTS_NAME, TOKENIZER_NAME = "model.safetensors", "tokenizer.json"
# What marks a folder of an older greennlp that wrote no greennlp_model.json: ONNX
# variants (their own metadata file) and TF-IDF models of 0.1 (a pickle alone).
OLD_MARKERS = ("greennlp_onnx.json", "model.joblib")


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


def write_folder(folder: str | Path, meta: dict[str, Any], *,
                 weights: dict[str, torch.Tensor] | None = None, tokenizer: Any = None,
                 files: Callable[[Path], Any] | None = None,
                 reads_from: Path | None = None) -> Path:
    """Write a model folder: the one writer that every family's ``save(folder)`` calls.

    Everything is written into a temporary folder beside ``folder``, which replaces it
    when complete (:func:`greennlp.files.atomic_folder`): a crash, a kill or a full disk
    leaves the old model or the new one, never half of one.

    Parameters
    ----------
    folder
        Where the model goes: a new or empty folder, or a model folder to replace.
    meta
        What rebuilds the model, written as ``greennlp_model.json``; it names the model's
        ``family``, which :func:`greennlp.models.load_model` opens it with.
    weights
        Tensors written as ``model.safetensors`` (tied tensors once:
        :func:`state_without_ties`).
    tokenizer
        Saved as ``tokenizer.json`` by its ``save(path)``.
    files
        Writes the family's other files into the (temporary) folder it is given.
    reads_from
        The folder the model reads its files from (an ONNX graph): saving the model
        there replaces that folder.

    Returns
    -------
    Path
        ``folder``.

    Raises
    ------
    UserError
        When ``folder`` holds files that are not a model's (they would be lost).
    """
    from greennlp.errors import UserError
    from greennlp.files import atomic_folder

    if "family" not in meta:
        raise ValueError("a model folder's metadata names its family")
    folder = Path(folder)
    own = reads_from is not None and folder.resolve() == Path(reads_from).resolve()
    if not (own or is_replaceable(folder)):
        raise UserError(f"{folder} holds files that are not a greennlp model; save the model "
                        f"to a new or empty folder.")
    with atomic_folder(folder) as tmp:
        if weights is not None:
            from safetensors.torch import save_file

            save_file(weights, str(tmp / WEIGHTS_NAME))
        if files is not None:
            files(tmp)
        if tokenizer is not None:
            tokenizer.save(str(tmp / TOKENIZER_NAME))
        (tmp / META_NAME).write_text(json.dumps(meta, indent=2, default=str))
    return folder


def is_replaceable(folder: Path) -> bool:
    """True when writing a model to ``folder`` loses nothing else: it does not exist, is
    empty, or holds a model (of this greennlp or an older one)."""
    if not folder.exists():
        return True
    if not folder.is_dir():
        return False
    return (not any(folder.iterdir())
            or any((folder / name).exists() for name in (META_NAME, *OLD_MARKERS)))


def read_meta(folder: Path, meta_name: str = META_NAME) -> dict[str, Any]:
    """The metadata of a model folder."""
    return json.loads((Path(folder) / meta_name).read_text())


def read_folder(folder: Path, meta_name: str = META_NAME) -> tuple[dict[str, Any], Any]:
    """The metadata and (``tokenizers``) tokenizer of a folder written by :func:`write_folder`."""
    from tokenizers import Tokenizer

    return read_meta(folder, meta_name), Tokenizer.from_file(str(Path(folder) / TOKENIZER_NAME))
