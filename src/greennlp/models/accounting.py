"""Parameter and FLOP accounting, computed from configs and checked against torch.

Convention (Kaplan et al. 2020): a multiply-add is 2 FLOPs; only matrix products
are counted (projections, attention scores and mixing, feed-forward, pooler and
head); embedding look-ups, layer norms, softmax, activations and biases are left
out, as they are <1% at these shapes. ``torch.utils.flop_counter.FlopCounterMode``
uses the same convention, which is what the tests compare against.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

MATMUL_NOTE = ("forward, matmul FLOPs (2 per multiply-add), mean over dev examples at their "
               "real lengths")


def count_parameters(module: Any) -> dict[str, int]:
    """Total and non-embedding parameter counts of a torch module.

    Embedding parameters are those of ``nn.Embedding`` layers (token, position and
    segment embeddings); the non-embedding count is what scaling laws use.
    """
    import torch.nn as nn

    seen: set[int] = set()
    total = embedding = 0
    for sub in module.modules():
        for p in sub.parameters(recurse=False):
            if id(p) in seen:  # tied weights count once
                continue
            seen.add(id(p))
            total += p.numel()
            if isinstance(sub, nn.Embedding):
                embedding += p.numel()
    return {"total": total, "embedding": embedding, "non_embedding": total - embedding}


def encoder_forward_flops(seq_len: int, *, hidden: int, layers: int, intermediate: int,
                          num_labels: int, pooler: bool = True, attention: float | None = None
                          ) -> int:
    """Forward FLOPs of a BERT-style encoder classifier on one sequence of ``seq_len`` tokens.

    Per layer: Q, K, V and output projections ``8 S H A``, attention scores and mixing
    ``4 S^2 A``, feed-forward ``4 S H I``, where the attention width ``A`` (heads x head
    size) is ``H`` unless heads were pruned. Then the pooler ``2 H^2`` and the classifier
    ``2 H C`` on the first token.

    >>> encoder_forward_flops(10, hidden=4, layers=1, intermediate=8, num_labels=2)
    4208
    """
    s, h = seq_len, hidden
    a = h if attention is None else attention
    per_layer = int(8 * s * h * a + 4 * s * s * a) + 4 * s * h * intermediate
    head = (2 * h * h if pooler else 0) + 2 * h * num_labels
    return layers * per_layer + head


def encoder_shape(hf_config: Any) -> dict[str, int]:
    """Width, depth and feed-forward size of a ``transformers`` encoder config, whatever
    the architecture calls them (DistilBERT: ``dim``, ``n_layers``, ``hidden_dim``), and
    the attention width where heads were pruned."""
    intermediate = getattr(hf_config, "intermediate_size", None) or hf_config.hidden_dim
    shape = {"hidden": int(hf_config.hidden_size), "layers": int(hf_config.num_hidden_layers),
             "intermediate": int(intermediate)}
    heads = getattr(hf_config, "greennlp_attention_heads", None)  # models.pruned_heads
    if heads:  # the mean attention width over layers
        size = int(hf_config.hidden_size) // int(hf_config.num_attention_heads)
        shape["attention"] = size * sum(heads) / len(heads)
    return shape


def mean_encoder_flops(lengths: Sequence[int], hf_config: Any, num_labels: int) -> float:
    """Mean forward FLOPs per example over actual (unpadded) token lengths.

    BERT's pooler, RoBERTa's dense head layer and DistilBERT's pre-classifier are the same
    ``H x H`` matmul on the first token, counted as the pooler."""
    lengths = np.asarray(lengths, dtype=np.int64)
    uniq, counts = np.unique(lengths, return_counts=True)
    shape = encoder_shape(hf_config)
    flops = [encoder_forward_flops(int(s), **shape, num_labels=num_labels) for s in uniq]
    return float(np.dot(flops, counts) / counts.sum())


def measured_flops(module: Any, **inputs: Any) -> int:
    """FLOPs of one forward call, counted by torch's FlopCounterMode."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        module(**inputs)
    return int(counter.get_total_flops())


def linear_model_flops(mean_nonzeros: float, n_outputs: int) -> float:
    """Forward FLOPs of a linear model on sparse features: ``2 x nnz x outputs``."""
    return 2.0 * mean_nonzeros * n_outputs
