"""Choosing the next token from logits: temperature, top-k and top-p (nucleus) sampling.

>>> import torch
>>> logits = torch.tensor([[2.0, 1.0, 0.5, -1.0]])
>>> filter_logits(logits, top_k=2).isinf().tolist()
[[False, False, True, True]]
>>> next_token(logits, temperature=0.0).tolist()
[0]
"""

from __future__ import annotations

import torch


def filter_logits(logits: torch.Tensor, *, top_k: int | None = None,
                  top_p: float | None = None) -> torch.Tensor:
    """Set to -inf the logits outside the top ``k`` and outside the nucleus of mass ``p``.

    The nucleus is the smallest set of most likely tokens whose probability reaches
    ``top_p`` (Holtzman et al. 2020); the most likely token is always kept.
    """
    out = logits.clone()
    if top_k is not None and 0 < top_k < out.size(-1):
        kth = torch.topk(out, top_k, dim=-1).values[..., -1:]
        out[out < kth] = float("-inf")
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(out, descending=True, dim=-1)
        cum = sorted_logits.softmax(-1).cumsum(-1)
        drop = cum - sorted_logits.softmax(-1) >= top_p  # mass before this token already enough
        drop[..., 0] = False
        out.scatter_(-1, order, sorted_logits.masked_fill(drop, float("-inf")))
    return out


def next_token(logits: torch.Tensor, *, temperature: float = 1.0, top_k: int | None = None,
               top_p: float | None = None, generator: torch.Generator | None = None
               ) -> torch.Tensor:
    """Sample one token id per row of ``logits`` (batch, vocab); temperature 0 is greedy."""
    if temperature <= 0:
        return logits.argmax(-1)
    filtered = filter_logits(logits.float() / temperature, top_k=top_k, top_p=top_p)
    return torch.multinomial(filtered.softmax(-1), 1, generator=generator).squeeze(-1)
