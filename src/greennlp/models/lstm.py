"""An LSTM language model built from one config dataclass (torch ``nn.LSTM``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from types import SimpleNamespace
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class LstmSpec:
    """Shape of the LSTM LM; saved in its checkpoint. Tied weights need a projection
    from ``hidden_size`` to ``embedding_size`` when they differ (as in Merity et al.)."""

    vocab_size: int
    embedding_size: int = 256
    hidden_size: int = 256
    num_layers: int = 1
    dropout: float = 0.1
    tie_weights: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class LstmLM(nn.Module):
    """Embedding -> LSTM layers -> (projection) -> output layer (tied to the embedding).

    ``forward(input_ids, labels=None)`` returns ``logits`` and, with labels, ``loss``
    (mean cross-entropy, -100 ignored), like :class:`~greennlp.models.decoder.Decoder`.
    """

    context_length = None  # no positional limit: documents of any length are scored whole

    def __init__(self, spec: LstmSpec) -> None:
        super().__init__()
        self.spec = spec
        self.tok = nn.Embedding(spec.vocab_size, spec.embedding_size)
        self.drop = nn.Dropout(spec.dropout)
        self.lstm = nn.LSTM(spec.embedding_size, spec.hidden_size, spec.num_layers,
                            batch_first=True, dropout=spec.dropout if spec.num_layers > 1 else 0.0)
        needs_proj = spec.tie_weights and spec.hidden_size != spec.embedding_size
        self.proj = nn.Linear(spec.hidden_size, spec.embedding_size) if needs_proj else None
        out_dim = spec.embedding_size if spec.tie_weights else spec.hidden_size
        self.head = nn.Linear(out_dim, spec.vocab_size)
        nn.init.normal_(self.tok.weight, 0.0, 0.05)
        if spec.tie_weights:
            self.head.weight = self.tok.weight

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor | None = None) -> SimpleNamespace:
        h, _ = self.lstm(self.drop(self.tok(input_ids)))
        h = self.drop(h)
        if self.proj is not None:
            h = self.proj(h)
        logits = self.head(h)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), labels.reshape(-1),
                                   ignore_index=-100)
        return SimpleNamespace(logits=logits, loss=loss)
