"""Encoders with attention heads removed: the shapes, and the code that rebuilds them.

``transformers`` 5 dropped head pruning (``prune_heads`` and ``config.pruned_heads``),
and its encoder configs derive the head size from ``hidden_size / num_attention_heads``,
so an encoder whose layers keep fewer heads of the original size cannot be expressed by
its config alone. The attention code itself needs nothing more: every encoder reshapes
the query, key and value projections to ``(-1, head_size)``, so narrower projections
mean fewer heads. A head-pruned model therefore records the heads each layer keeps
under :data:`HEADS_KEY` in its config, and its folder carries this file as remote code
(``auto_map``), so that ``AutoModelForSequenceClassification.from_pretrained(folder,
trust_remote_code=True)`` and ``transformers.pipeline(..., trust_remote_code=True)``
rebuild the narrower projections before loading the weights. This is the one documented
exception to "a greennlp folder opens in transformers as it is": FFN widths and layer
counts stay expressible in the config, head counts per layer do not.

This file imports only ``torch`` and ``transformers``: it is copied next to the weights.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported where it is used: greennlp imports this file lightly
    from torch import nn

HEADS_KEY = "greennlp_attention_heads"  # heads kept in each layer, in layer order
MODULE = "greennlp_pruned_heads"  # the file's name in a model folder (remote code)


def block_linears(layer: nn.Module, hidden: int) -> dict[str, nn.Linear]:
    """The six linear maps of one transformer block, by role: ``q``, ``k``, ``v``
    (hidden -> attention width), ``o`` (attention width -> hidden), ``ffn_in`` (hidden
    -> FFN width) and ``ffn_out`` (FFN width -> hidden).

    Every encoder with a standard block (BERT, RoBERTa, ELECTRA, DistilBERT, ...)
    registers them in this order; the shapes are checked, so a block with another
    layout (relative-position projections, adapters) is refused rather than misread.

    Raises
    ------
    ValueError
        When the block does not hold exactly these six maps with consistent shapes.
    """
    from torch import nn

    found = [m for m in layer.modules() if isinstance(m, nn.Linear)]
    if len(found) != 6:
        raise ValueError(f"a standard encoder block has 6 linear maps; this "
                         f"{type(layer).__name__} has {len(found)}")
    q, k, v, o, ffn_in, ffn_out = found
    width = q.out_features
    ok = (all(m.in_features == hidden and m.out_features == width for m in (q, k, v))
          and o.in_features == width and o.out_features == hidden
          and ffn_in.in_features == hidden and ffn_out.in_features == ffn_in.out_features
          and ffn_out.out_features == hidden)
    if not ok:
        raise ValueError(f"the linear maps of {type(layer).__name__} are not in the order "
                         f"query, key, value, output, FFN in, FFN out")
    return {"q": q, "k": k, "v": v, "o": o, "ffn_in": ffn_in, "ffn_out": ffn_out}


def head_size(config: Any) -> int:
    """The size of one head, as the architecture derives it from its config."""
    return int(config.hidden_size) // int(config.num_attention_heads)


def take(linear: nn.Linear, index, dim: int) -> nn.Linear:
    """A new linear map keeping ``index`` of its outputs (``dim=0``) or inputs (``dim=1``)."""
    import torch
    from torch import nn

    index = torch.as_tensor(index, dtype=torch.long, device=linear.weight.device)
    weight = linear.weight.detach().index_select(dim, index).clone()
    bias = linear.bias
    if bias is not None:
        bias = (bias.detach().index_select(0, index) if dim == 0 else bias.detach()).clone()
    new = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None,
                    device=weight.device, dtype=weight.dtype)
    new.weight.data.copy_(weight)
    if bias is not None:
        new.bias.data.copy_(bias)
    return new


def _replace(root: nn.Module, old: nn.Linear, new: nn.Linear) -> None:
    for parent in root.modules():
        for name, child in parent.named_children():
            if child is old:
                setattr(parent, name, new)


def keep_heads(layer: nn.Module, hidden: int, size: int, heads: list[int]) -> None:
    """Keep only ``heads`` (indices) of one block's attention: narrower Q, K, V and O."""
    maps = block_linears(layer, hidden)
    cols = [h * size + i for h in heads for i in range(size)]
    for role in ("q", "k", "v"):
        _replace(layer, maps[role], take(maps[role], cols, 0))
    _replace(layer, maps["o"], take(maps["o"], cols, 1))
    for module in layer.modules():  # bookkeeping attributes some versions still read
        for attr in ("num_attention_heads", "n_heads"):
            if isinstance(getattr(module, attr, None), int):
                setattr(module, attr, len(heads))
        if isinstance(getattr(module, "all_head_size", None), int):
            module.all_head_size = len(heads) * size


def encoder_blocks(model: nn.Module) -> nn.ModuleList:
    """The list of ``num_hidden_layers`` transformer blocks of a classifier."""
    from torch import nn

    depth = model.config.num_hidden_layers
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and len(module) == depth and name.endswith("layer"):
            return module
    raise ValueError(f"no list of {depth} encoder blocks in {type(model).__name__}")


def apply_heads(model: nn.Module) -> nn.Module:
    """Narrow a freshly built model to the head counts its config records (no-op when it
    records none); the weights are loaded afterwards, so the first heads are kept."""
    counts = getattr(model.config, HEADS_KEY, None)
    if not counts:
        return model
    size, hidden = head_size(model.config), int(model.config.hidden_size)
    for layer, count in zip(encoder_blocks(model), counts):
        keep_heads(layer, hidden, size, list(range(int(count))))
    return model


def write_remote_code(folder: Path, config: Any) -> None:
    """Copy this file into ``folder`` and point the config's ``auto_map`` at the
    head-pruned class of its architecture (the config is saved by the caller)."""
    shutil.copyfile(Path(__file__), Path(folder) / f"{MODULE}.py")
    from transformers import AutoModelForSequenceClassification

    base = AutoModelForSequenceClassification._model_mapping[type(config)]
    config.auto_map = {"AutoModelForSequenceClassification": f"{MODULE}.{base.__name__}"}


def _pruned_class(base: type) -> type:
    class Pruned(base):  # type: ignore[misc, valid-type]
        def __init__(self, config, *args, **kwargs):
            super().__init__(config, *args, **kwargs)
            apply_heads(self)

    # The same name as its base: pipelines check the class name against their task's list.
    Pruned.__name__ = Pruned.__qualname__ = base.__name__
    return Pruned


def __getattr__(name: str) -> type:
    """``BertForSequenceClassification`` and its siblings with the heads the config keeps,
    made on demand from the ``transformers`` class of that name (what ``auto_map`` asks
    this file for)."""
    import transformers

    base = getattr(transformers, name, None) if name.endswith("ForSequenceClassification") else None
    if base is None:
        raise AttributeError(name)
    cls = _pruned_class(base)
    globals()[name] = cls
    return cls
