"""Structured pruning that removes compute: whole layers, attention heads and FFN neurons
go, the matrices shrink, and the student is distilled from its dense teacher.

What is kept is chosen by Michel et al. (2019) importance on training data
(:mod:`greennlp.compress.importance`): the most important heads and FFN neurons of each
kept layer, the same number in every layer, so that the FFN width stays expressible in
the config (``intermediate_size``) and ONNX Runtime's attention fusion sees one head
count. Layers are kept by importance or evenly spaced. A head-pruned model records its
heads per layer in the config and carries the code that rebuilds it
(:mod:`greennlp.models.pruned_heads`); FFN and layer pruning need nothing beyond the config.

The student then learns from the teacher (:mod:`greennlp.compress.kd`): soft labels,
optionally hidden states and attention, on the training texts plus augmented text
(:mod:`greennlp.compress.augment`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from greennlp.errors import UserError
from greennlp.models.classifier import EncoderClassifier, build_from_hf_config
from greennlp.models.hf_format import encoder_layers
from greennlp.models.pruned_heads import (
    HEADS_KEY,
    block_linears,
    encoder_blocks,
    head_size,
    keep_heads,
    take,
)

LAYER_CHOICES = ("importance", "even")


@dataclass(frozen=True)
class Shape:
    """What a structurally pruned student keeps: ``layers`` blocks, ``heads`` heads and
    ``ffn`` FFN neurons in each (None: all of the teacher's)."""

    layers: int
    heads: int | None = None
    ffn: int | None = None

    @property
    def label(self) -> str:
        """``L3-A6-F512`` style (A: attention heads, F: FFN width)."""
        return (f"L{self.layers}" + (f"-A{self.heads}" if self.heads else "")
                + (f"-F{self.ffn}" if self.ffn else ""))


@dataclass
class Kept:
    """What was kept, in teacher indices: the layers, and each kept layer's heads."""

    layers: list[int]
    heads: list[list[int]] = field(default_factory=list)


def ffn_key(config: Any) -> str:
    """The config attribute of the FFN width (DistilBERT: ``hidden_dim``)."""
    return "intermediate_size" if hasattr(config, "intermediate_size") else "hidden_dim"


def teacher_shape(model: nn.Module) -> Shape:
    """The dense model's own shape (layers, heads per layer, FFN width)."""
    cfg = model.config
    return Shape(int(cfg.num_hidden_layers), int(cfg.num_attention_heads), int(getattr(cfg, ffn_key(cfg))))


def even_layers(n_teacher: int, n_student: int) -> list[int]:
    """Evenly spaced teacher layers, first and last included (as the distilled student)."""
    from greennlp.compress.distill import teacher_layers

    return teacher_layers(n_teacher, n_student)


def choose_layers(scores: np.ndarray, n: int, how: str = "importance") -> list[int]:
    """``n`` layers to keep, in order: the most important, or evenly spaced."""
    if how not in LAYER_CHOICES:
        raise ValueError(f"layer choice must be one of {LAYER_CHOICES}")
    if how == "even":
        return even_layers(len(scores), n)
    return sorted(int(i) for i in np.argsort(-np.asarray(scores), kind="stable")[:n])


def check_shape(model: nn.Module, shape: Shape) -> None:
    """A shape the teacher can be pruned to, or a UserError saying which setting to change."""
    full = teacher_shape(model)
    for name, want, have in (("layers", shape.layers, full.layers), ("heads", shape.heads, full.heads),
                             ("ffn", shape.ffn, full.ffn)):
        if want is not None and not 1 <= want <= have:
            raise UserError(f"A structurally pruned student keeps between 1 and the teacher's "
                            f"{have} {name}, and {shape.label} asks for {want}; change "
                            f"compress.frontier.{name}.")
    try:
        block_linears(encoder_blocks(model)[0], int(model.config.hidden_size))
    except ValueError as exc:
        raise UserError(f"Structured pruning cannot read this {model.config.model_type!r} "
                        f"encoder's blocks ({exc}); remove frontier from compress.methods.") from None


def prune_structure(clf: EncoderClassifier, scores: dict[str, np.ndarray], shape: Shape,
                    layer_choice: str = "importance") -> tuple[EncoderClassifier, Kept]:
    """A copy of ``clf`` physically pruned to ``shape`` by importance ``scores``.

    Returns the pruned classifier (same tokenizer, labels and family) and what it kept.
    """
    check_shape(clf.model, shape)
    model = copy.deepcopy(clf.model)
    cfg, full = model.config, teacher_shape(model)
    hidden, size = int(cfg.hidden_size), head_size(cfg)
    blocks = encoder_blocks(model)
    kept = Kept(choose_layers(scores["layers"], shape.layers, layer_choice))
    for i in kept.layers:
        heads = list(range(full.heads))
        if shape.heads and shape.heads < full.heads:
            heads = sorted(int(h) for h in np.argsort(-scores["heads"][i], kind="stable")[:shape.heads])
            keep_heads(blocks[i], hidden, size, heads)
        kept.heads.append(heads)
        if shape.ffn and shape.ffn < full.ffn:
            _keep_neurons(blocks[i], hidden, np.argsort(-scores["ffn"][i], kind="stable")[:shape.ffn])
    path = encoder_layers(model)
    parent, attr = path.rsplit(".", 1)
    setattr(model.get_submodule(parent), attr, nn.ModuleList([blocks[i] for i in kept.layers]))
    cfg.num_hidden_layers = shape.layers
    setattr(cfg, ffn_key(cfg), shape.ffn or full.ffn)
    if shape.heads and shape.heads < full.heads:
        setattr(cfg, HEADS_KEY, [shape.heads] * shape.layers)
    pruned = EncoderClassifier(model, clf.tokenizer, clf.labels, clf.max_length, clf.family)
    _check_rebuilds(pruned)
    return pruned, kept


def _keep_neurons(block: nn.Module, hidden: int, neurons: Sequence[int]) -> None:
    maps = block_linears(block, hidden)
    index = sorted(int(n) for n in neurons)
    for role, dim in (("ffn_in", 0), ("ffn_out", 1)):
        new = take(maps[role], index, dim)
        for parent in block.modules():
            for name, child in parent.named_children():
                if child is maps[role]:
                    setattr(parent, name, new)


def _check_rebuilds(clf: EncoderClassifier) -> None:
    """The config alone (plus the recorded heads) must rebuild the pruned shapes, or the
    saved model would not load; every weight must fit."""
    rebuilt = build_from_hf_config(clf.model.config.to_dict())
    rebuilt.load_state_dict(clf.model.state_dict(), strict=True)


def structure_facts(teacher: nn.Module, student: nn.Module, kept: Kept) -> dict[str, Any]:
    """What pruning removed, for the record."""
    def count(m: nn.Module) -> int:
        return sum(p.numel() for p in m.parameters())
    blocks_t = sum(count(b) for b in encoder_blocks(teacher))
    blocks_s = sum(count(b) for b in encoder_blocks(student))
    return {"kept_layers": kept.layers, "kept_heads": kept.heads,
            "encoder_params_teacher": blocks_t, "encoder_params_student": blocks_s,
            "encoder_params_kept": blocks_s / max(1, blocks_t)}


def head_mask_forward(model: nn.Module, heads: dict[int, list[int]], **batch: Any) -> torch.Tensor:
    """Logits of ``model`` with every head not in ``heads[layer]`` zeroed (a mask, for
    checking that physical removal computes the same function)."""
    size, hidden = head_size(model.config), int(model.config.hidden_size)
    handles = []
    for i, block in enumerate(encoder_blocks(model)):
        if i not in heads:
            continue
        o = block_linears(block, hidden)["o"]
        mask = torch.zeros(o.in_features // size)
        mask[heads[i]] = 1.0

        def hook(module, args, mask=mask):
            x = args[0]
            return (x.view(*x.shape[:-1], -1, size) * mask[:, None]).reshape(x.shape),
        handles.append(o.register_forward_pre_hook(hook))
    try:
        with torch.inference_mode():
            return model(**batch).logits
    finally:
        for h in handles:
            h.remove()
