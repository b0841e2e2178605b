"""A GPT-style decoder (nanoGPT-shaped) built from one config dataclass.

Pre-norm blocks of causal multi-head self-attention and a GELU feed-forward, learned or
sinusoidal positions, and an output layer tied to the token embedding. We write the
module ourselves (about 100 lines) rather than use ``transformers.GPT2LMHeadModel``
because GPT-2 has no sinusoidal positions and its config does not go into our
checkpoint format; the building blocks are torch's own (``nn.Linear``, ``LayerNorm``,
``scaled_dot_product_attention``).

``attn="sdpa"`` uses torch's fused causal attention (fast); ``attn="eager"`` spells the
attention out as two matmuls, which ``FlopCounterMode`` can see (the fused CPU kernel
is invisible to it), so the FLOP accounting can be checked against it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from types import SimpleNamespace
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class DecoderSpec:
    """Everything that determines the decoder's shape; saved in its checkpoint."""

    vocab_size: int
    context_length: int = 64
    d_model: int = 128
    num_layers: int = 4
    num_heads: int = 4
    d_ff: int = 512
    positions: str = "learned"
    dropout: float = 0.1
    tie_weights: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sinusoidal_table(length: int, dim: int) -> torch.Tensor:
    """The fixed position encodings of Vaswani et al. (2017), shape (length, dim)."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)[:, : dim // 2]
    return table


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with one fused QKV projection."""

    def __init__(self, spec: DecoderSpec, attn: str) -> None:
        super().__init__()
        self.heads, self.attn, self.dropout = spec.num_heads, attn, spec.dropout
        self.qkv = nn.Linear(spec.d_model, 3 * spec.d_model)
        self.proj = nn.Linear(spec.d_model, spec.d_model)
        self.resid_drop = nn.Dropout(spec.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, d = x.shape
        q, k, v = (t.view(b, s, self.heads, d // self.heads).transpose(1, 2)
                   for t in self.qkv(x).split(d, dim=2))
        p = self.dropout if self.training else 0.0
        if self.attn == "sdpa":
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        else:
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
            mask = torch.ones(s, s, dtype=torch.bool, device=x.device).triu(1)
            weights = F.dropout(scores.masked_fill(mask, float("-inf")).softmax(-1), p)
            y = weights @ v
        return self.resid_drop(self.proj(y.transpose(1, 2).reshape(b, s, d)))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, spec: DecoderSpec, attn: str) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(spec.d_model), nn.LayerNorm(spec.d_model)
        self.attn = CausalSelfAttention(spec, attn)
        self.mlp = nn.Sequential(nn.Linear(spec.d_model, spec.d_ff), nn.GELU(),
                                 nn.Linear(spec.d_ff, spec.d_model), nn.Dropout(spec.dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class Decoder(nn.Module):
    """GPT-style causal language model; ``forward(input_ids, labels=None)``.

    Returns an object with ``logits`` (batch, seq, vocab) and, when ``labels`` is
    given, ``loss``: the mean cross-entropy of predicting ``labels`` (already shifted
    by the caller; -100 is ignored), which is what the shared training loop expects.
    """

    def __init__(self, spec: DecoderSpec, attn: str = "sdpa") -> None:
        super().__init__()
        if spec.d_model % spec.num_heads:
            raise ValueError("d_model must be divisible by num_heads")
        self.spec = spec
        self.tok = nn.Embedding(spec.vocab_size, spec.d_model)
        if spec.positions == "learned":
            self.pos = nn.Embedding(spec.context_length, spec.d_model)
        else:
            # Scaled to the RMS of the token embeddings at initialisation (0.02): at unit
            # amplitude the fixed encodings swamp them, and a small decoder in our tests did
            # not learn (dev perplexity stalled at 33 where learned positions reached 1.7).
            table = sinusoidal_table(spec.context_length, spec.d_model) * 0.02 * math.sqrt(2)
            self.register_buffer("pos_table", table, persistent=False)
        self.drop = nn.Dropout(spec.dropout)
        self.blocks = nn.ModuleList(Block(spec, attn) for _ in range(spec.num_layers))
        self.ln_f = nn.LayerNorm(spec.d_model)
        self.head = nn.Linear(spec.d_model, spec.vocab_size, bias=False)
        self.apply(self._init)
        if spec.tie_weights:
            self.head.weight = self.tok.weight
        for name, p in self.named_parameters():  # GPT-2's scaled init of residual outputs
            if name.endswith(("proj.weight", "mlp.2.weight")):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * spec.num_layers))

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, 0.0, 0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor | None = None) -> SimpleNamespace:
        s = input_ids.size(1)
        if s > self.spec.context_length:
            raise ValueError(f"sequence of {s} tokens exceeds the context of "
                             f"{self.spec.context_length}")
        pos = self.pos.weight[:s] if self.spec.positions == "learned" else self.pos_table[:s]
        x = self.drop(self.tok(input_ids) + pos)
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.ln_f(x))
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), labels.reshape(-1),
                                   ignore_index=-100)
        return SimpleNamespace(logits=logits, loss=loss)
