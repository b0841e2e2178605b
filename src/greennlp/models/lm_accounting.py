"""Parameters and FLOPs of language models from their configs alone.

Same conventions as :mod:`greennlp.models.accounting`: a multiply-add is 2 FLOPs and
only matrix products count; "embedding" parameters are those of embedding tables
(token and learned positions; a tied output layer is the token table, counted once).
Attention is counted as executed by a plain implementation: the full ``S x S`` score
and mixing matmuls (``4 S d`` FLOPs per token and layer), which is what
``FlopCounterMode`` measures; Kaplan et al. (2020) count half of it, the causal part.
Training costs 3x the forward pass (the backward pass computes gradients for both the
inputs and the weights of every matmul), so ``training = 3 x forward``; with the
attention term dropped this is the familiar ``6 N`` per token.

Supported: ``gpt`` (our decoder; GPT-2 configs map onto it), ``lstm``, ``bert`` (an
encoder with its masked-LM head and no pooler: ``BertForMaskedLM``, what greennlp's
``bert_mlm`` trains), ``bert_pretraining`` (``BertForPreTraining``: encoder, pooler,
masked-LM and next-sentence heads, what the published BERT tables count; a transformers
BERT ``config.json`` is counted so), ``llama`` (SmolLM2 and other Llama-family configs).
"""

from __future__ import annotations

from typing import Any, Mapping


def _result(embedding: int, non_embedding: int, forward_matmul: int, attention: int) -> dict:
    forward = forward_matmul + attention
    return {"params_total": embedding + non_embedding, "params_embedding": embedding,
            "params_non_embedding": non_embedding, "forward_flops_per_token": forward,
            "attention_flops_per_token": attention, "training_flops_per_token": 3 * forward}


def decoder_accounting(spec: Mapping[str, Any], seq_len: int | None = None) -> dict[str, int]:
    """Our GPT-style decoder (:class:`~greennlp.models.decoder.DecoderSpec` fields).

    >>> decoder_accounting({"vocab_size": 10, "context_length": 4, "d_model": 8,
    ...                     "num_layers": 1, "num_heads": 2, "d_ff": 16})["params_total"]
    728
    """
    v, d, ff, layers = spec["vocab_size"], spec["d_model"], spec["d_ff"], spec["num_layers"]
    s = seq_len or spec.get("context_length", 64)
    learned = spec.get("positions", "learned") == "learned"
    embedding = v * d + (spec.get("context_length", 64) * d if learned else 0)
    per_layer = 4 * d * d + 2 * d * ff + 9 * d + ff  # qkv, proj, mlp, biases, 2 layer norms
    head = 0 if spec.get("tie_weights", True) else v * d
    non_embedding = layers * per_layer + 2 * d + head
    matmul = layers * (8 * d * d + 4 * d * ff) + 2 * d * v
    return _result(embedding, non_embedding, matmul, layers * 4 * s * d)


def gpt2_to_decoder(config: Mapping[str, Any]) -> dict[str, Any]:
    """A transformers GPT-2 config as our decoder spec (same parameters and FLOPs)."""
    d = config["n_embd"]
    return {"vocab_size": config["vocab_size"], "context_length": config["n_positions"],
            "d_model": d, "num_layers": config["n_layer"], "num_heads": config["n_head"],
            "d_ff": config.get("n_inner") or 4 * d, "positions": "learned",
            "tie_weights": config.get("tie_word_embeddings", True)}


def lstm_accounting(spec: Mapping[str, Any], seq_len: int | None = None) -> dict[str, int]:
    """Our LSTM LM (:class:`~greennlp.models.lstm.LstmSpec` fields); no attention.

    >>> lstm_accounting({"vocab_size": 10, "embedding_size": 4, "hidden_size": 4})["params_total"]
    210
    """
    v, e, h, layers = (spec["vocab_size"], spec["embedding_size"], spec["hidden_size"],
                       spec.get("num_layers", 1))
    tied = spec.get("tie_weights", True)
    gates, matmul = 0, 0
    for layer in range(layers):
        inputs = e if layer == 0 else h
        gates += 4 * h * (inputs + h) + 8 * h  # weights and the two bias vectors
        matmul += 8 * h * (inputs + h)
    proj = h * e + e if tied and h != e else 0
    out_dim = e if tied else h
    head = v + (0 if tied else out_dim * v)
    matmul += (2 * h * e if proj else 0) + 2 * out_dim * v
    return _result(v * e, gates + proj + head, matmul, 0)


def bert_mlm_accounting(config: Mapping[str, Any], seq_len: int | None = None) -> dict[str, int]:
    """A transformers BERT encoder with its masked-LM head (``BertForMaskedLM``)."""
    v, d, i, layers = (config["vocab_size"], config["hidden_size"],
                       config["intermediate_size"], config["num_hidden_layers"])
    s = seq_len or config.get("max_position_embeddings", 512)
    embedding = (v + config.get("max_position_embeddings", 512)
                 + config.get("type_vocab_size", 2)) * d
    per_layer = 4 * (d * d + d) + 2 * d * i + i + d + 4 * d
    head = d * d + d + 2 * d + v  # transform dense + layer norm; decoder tied, own bias
    non_embedding = 2 * d + layers * per_layer + head
    matmul = layers * (8 * d * d + 4 * d * i) + 2 * d * d + 2 * d * v
    return _result(embedding, non_embedding, matmul, layers * 4 * s * d)


def bert_pretraining_accounting(config: Mapping[str, Any], seq_len: int | None = None
                                ) -> dict[str, int]:
    """The whole BERT pre-training model (``BertForPreTraining``): the encoder with its
    pooler, the masked-LM head and the next-sentence head. This is what the published
    BERT tables count (Devlin et al. 2019: BERT-Base 110M; Turc et al. 2019: the 24
    miniatures, e.g. L=4/H=256 11.3M). ``params_encoder_with_pooler`` is the encoder
    alone (``BertModel``), what a fine-tuned classifier keeps.

    The pooler and the next-sentence head see one token per sequence: their FLOPs are
    spread over the ``seq_len`` tokens.

    >>> acc = bert_pretraining_accounting({"vocab_size": 30522, "hidden_size": 768,
    ...     "intermediate_size": 3072, "num_hidden_layers": 12})
    >>> acc["params_total"], acc["params_encoder_with_pooler"]
    (110106428, 109482240)
    """
    mlm = bert_mlm_accounting(config, seq_len)
    d = config["hidden_size"]
    s = seq_len or config.get("max_position_embeddings", 512)
    pooler, next_sentence = d * d + d, 2 * d + 2
    mlm_head = d * d + d + 2 * d + config["vocab_size"]
    out = _result(mlm["params_embedding"], mlm["params_non_embedding"] + pooler + next_sentence,
                  mlm["forward_flops_per_token"] - mlm["attention_flops_per_token"]
                  + round((2 * d * d + 4 * d) / s), mlm["attention_flops_per_token"])
    out["params_encoder_with_pooler"] = mlm["params_total"] - mlm_head + pooler
    return out


def llama_accounting(config: Mapping[str, Any], seq_len: int | None = None) -> dict[str, int]:
    """A transformers Llama-family causal LM (grouped-query attention, SwiGLU MLP)."""
    v, d, i, layers = (config["vocab_size"], config["hidden_size"],
                       config["intermediate_size"], config["num_hidden_layers"])
    heads = config["num_attention_heads"]
    head_dim = config.get("head_dim") or d // heads
    kv = config.get("num_key_value_heads") or heads
    s = seq_len or config.get("max_position_embeddings", 2048)
    attn = 2 * d * heads * head_dim + 2 * d * kv * head_dim  # q, o and k, v
    per_layer = attn + 3 * d * i + 2 * d
    tied = config.get("tie_word_embeddings", True)
    non_embedding = layers * per_layer + d + (0 if tied else v * d)
    matmul = layers * 2 * (attn + 3 * d * i) + 2 * d * v
    return _result(v * d, non_embedding, matmul, layers * 4 * s * heads * head_dim)


# architecture (a family's ``architecture``, or a transformers ``model_type``) -> accounting
ACCOUNTING = {"decoder": decoder_accounting, "lstm": lstm_accounting, "bert": bert_mlm_accounting,
              "bert_pretraining": bert_pretraining_accounting, "llama": llama_accounting}


def lm_accounting(architecture: str, config: Mapping[str, Any], seq_len: int | None = None
                  ) -> dict[str, int]:
    """Parameters (total / embedding / non-embedding) and FLOPs per token of a model.

    Parameters
    ----------
    architecture
        A family's ``architecture`` (``decoder``, ``lstm``, ``bert``), a transformers
        ``model_type`` (``gpt2``, ``llama``) or ``bert_pretraining``.
    config
        The model's config as a dict.
    seq_len
        Tokens per sequence for the attention term (default: the model's context).
    """
    if architecture == "gpt2":
        return decoder_accounting(gpt2_to_decoder(config), seq_len)
    if architecture not in ACCOUNTING:
        raise ValueError(f"no accounting for architecture {architecture!r}; known: "
                         f"{', '.join(sorted(ACCOUNTING))}, gpt2")
    return ACCOUNTING[architecture](config, seq_len)
