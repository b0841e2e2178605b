"""How much each attention head, FFN neuron and layer matters (Michel et al. 2019).

The importance of a unit is the expected absolute gradient of the loss with respect to
a gate on its output, ``I = E_x |dL(x) / d xi|`` at ``xi = 1``: a first-order estimate of
how much the loss would change if the unit were removed. Gates are inserted with hooks,
so any encoder whose blocks :func:`~greennlp.models.pruned_heads.block_linears` reads is
scored without changing its code:

* a head's gate scales its slice of the attention output before the output projection;
* an FFN neuron's gate scales its activation before the second FFN map;
* a layer's gate scales its residual update: ``x + g (f(x) - x)``.

Gates are per example (shape ``[batch, units]``), so one backward pass over a batch
gives every example's own gradient and the absolute value is taken per example, as the
paper does, instead of on the batch sum (where opposite signs would cancel).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from greennlp.models.pruned_heads import block_linears, encoder_blocks, head_size


class _Gates:
    """Per-example gates on heads, neurons and layers, installed as hooks."""

    def __init__(self, model: nn.Module) -> None:
        cfg = model.config
        self.blocks = list(encoder_blocks(model))
        self.hidden, self.size = int(cfg.hidden_size), head_size(cfg)
        self.device = next(model.parameters()).device
        self.maps = [block_linears(b, self.hidden) for b in self.blocks]
        self.current: dict[str, list[torch.Tensor]] = {}
        self.handles: list[Any] = []

    def new_batch(self, n: int) -> None:
        """Fresh gates (all ones, with gradients) for a batch of ``n`` examples."""
        def ones(k: int) -> torch.Tensor:
            return torch.ones(n, k, device=self.device, requires_grad=True)
        self.current = {
            "heads": [ones(m["o"].in_features // self.size) for m in self.maps],
            "ffn": [ones(m["ffn_out"].in_features) for m in self.maps],
            "layers": [ones(1) for _ in self.blocks]}

    @contextmanager
    def installed(self) -> Iterator["_Gates"]:
        for i, (block, maps) in enumerate(zip(self.blocks, self.maps)):
            self.handles += [maps["o"].register_forward_pre_hook(self._heads(i)),
                             maps["ffn_out"].register_forward_pre_hook(self._ffn(i)),
                             block.register_forward_hook(self._layer(i))]
        try:
            yield self
        finally:
            for h in self.handles:
                h.remove()
            self.handles = []

    def _heads(self, i: int):
        def hook(module, args):
            x = args[0]
            gate = self.current["heads"][i].to(x.dtype)
            shaped = x.view(*x.shape[:-1], gate.shape[1], self.size)
            return (shaped * gate[:, None, :, None]).reshape(x.shape),
        return hook

    def _ffn(self, i: int):
        def hook(module, args):
            return (args[0] * self.current["ffn"][i].to(args[0].dtype)[:, None, :]),
        return hook

    def _layer(self, i: int):
        def hook(module, args, output):
            before = args[0] if args else None
            after = output[0] if isinstance(output, tuple) else output
            if before is None or not torch.is_tensor(after) or after.shape != before.shape:
                return output
            gated = before + self.current["layers"][i][:, :, None] * (after - before)
            return (gated, *output[1:]) if isinstance(output, tuple) else gated
        return hook


def importance(clf: Any, texts: Sequence[str], labels: Sequence[int], *,
               batch_size: int = 32) -> dict[str, np.ndarray]:
    """Michel et al. (2019) importance of every head, FFN neuron and layer of ``clf``.

    Parameters
    ----------
    clf
        An :class:`~greennlp.models.classifier.EncoderClassifier` (left unchanged).
    texts, labels
        Scoring examples (training data: the choice of what to keep never sees dev)
        and their label indices.

    Returns
    -------
    dict
        ``heads``: ``[layers, heads]``, ``ffn``: ``[layers, neurons]``, ``layers``:
        ``[layers]``, each the mean absolute per-example gradient of the cross-entropy.
    """
    model = clf.model
    was_training = model.training
    model.eval()  # no dropout: the gradient of the model that will be pruned
    gates = _Gates(model)
    sums: dict[str, list[np.ndarray]] = {}
    ids = clf.encode(texts)
    order = np.argsort([len(x) for x in ids], kind="stable")
    requires = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():  # only the gates need gradients
        p.requires_grad_(False)
    try:
        with gates.installed():
            for batch in clf.batches(ids, batch_size, list(labels), order=order):
                gates.new_batch(len(batch["labels"]))
                logits = model(input_ids=batch["input_ids"],
                               attention_mask=batch["attention_mask"]).logits
                nn.functional.cross_entropy(logits.float(), batch["labels"],
                                            reduction="sum").backward()
                for kind, tensors in gates.current.items():
                    got = [t.grad.abs().sum(0).cpu().numpy() for t in tensors]
                    sums[kind] = got if kind not in sums else [a + b for a, b in
                                                               zip(sums[kind], got)]
    finally:
        for p, flag in zip(model.parameters(), requires):
            p.requires_grad_(flag)
        model.train(was_training)
    n = max(1, len(ids))
    return {"heads": np.stack(sums["heads"]) / n, "ffn": np.stack(sums["ffn"]) / n,
            "layers": np.concatenate(sums["layers"]) / n}
