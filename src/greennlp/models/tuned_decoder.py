"""A pretrained decoder tuned here (e.g. by DPO), saved as what training changed: the LoRA
adapters (a few MB) or, after full fine-tuning, the whole weights; reopened by rebuilding
the base from the family table and putting them back.

A folder holds ``greennlp_model.json`` (the base family, how it was tuned, the adapters'
spec), ``tokenizer.json`` and ``adapters.safetensors`` or ``model.safetensors``.
:func:`greennlp.models.load_model` opens it through the base family's ``load``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from greennlp.models.checkpoints import META_NAME, load_weights, state_without_ties
from greennlp.models.lora import LoraSpec, add_lora, adapter_state, load_adapters, merged

ADAPTERS, WEIGHTS = "adapters.safetensors", "model.safetensors"


def save_tuned(folder: Path, lm, trained, base: str, lora: LoraSpec | None,
               facts: dict[str, Any]) -> Path:
    """Write the tuned model ``trained`` (the module that trained: with adapters when
    ``lora``) of base family ``base``; ``lm`` is its :class:`NeuralLM` (for the tokenizer)."""
    from safetensors.torch import save_file

    from greennlp.files import plain_mode

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if lora is not None:
        save_file(adapter_state(trained), str(folder / ADAPTERS))
    else:
        save_file(state_without_ties(trained), str(folder / WEIGHTS))
    plain_mode(folder / (ADAPTERS if lora is not None else WEIGHTS))  # safetensors writes 0600
    lm.tokenizer.save(folder / "tokenizer.json")
    meta = {"family": base, "tuned": facts, "lora": lora.describe() if lora else None}
    (folder / META_NAME).write_text(json.dumps(meta, indent=2, default=str))
    return folder


def load_tuned(folder: Path, build_base: Callable[[str], Any]):
    """The tuned model saved in ``folder``, as a :class:`NeuralLM` with merged weights;
    ``build_base(family_name)`` builds the pretrained base (the family table's builder)."""
    from safetensors.torch import load_file

    folder = Path(folder)
    meta = json.loads((folder / META_NAME).read_text())
    lm = build_base(meta["family"])
    if meta.get("lora"):
        spec = LoraSpec(meta["lora"]["rank"], meta["lora"]["alpha"], tuple(meta["lora"]["targets"]))
        adapted = load_adapters(add_lora(lm.module, spec), load_file(str(folder / ADAPTERS)))
        lm.module = merged(adapted).eval()
    else:
        load_weights(lm.module, folder / WEIGHTS).eval()
    lm.facts = dict(getattr(lm, "facts", {}), tuned=meta["tuned"])
    return lm
