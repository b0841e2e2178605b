"""Continuations of prompts by a pretrained causal LM (Hugging Face ``*ForCausalLM``, e.g.
SmolLM2): batched sampling, and the log-probability of a completion given its prompt.

These are the two quantities preference tuning is made of. A prompt is ``<eot> prompt``
(the convention of :class:`~greennlp.models.neural_lm.NeuralLM`); a completion is the
sampled tokens, ending with a stop token when one was sampled (stopping is part of what
the model chose, so its probability counts).

Sampling is at temperature 1 from the full distribution (no top-k or nucleus): averages
over samples then estimate expectations under the model itself, which the Monte-Carlo KL
of :mod:`greennlp.evaluate.preference` needs. ``tests/preference`` checks that the
probabilities the sampler drew from equal the ones :func:`sequence_logps` computes.

:func:`sequence_logps` projects only the hidden states that predict a completion token
through the output layer (as TRL's fused LM head does): with a 49k-token vocabulary the
output layer is a fifth of SmolLM2's FLOPs per token, and prompts are not scored.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

Ids = list[int]


def prompt_ids(tokenizer, prompts: Sequence[str]) -> list[Ids]:
    """``<eot> prompt`` token ids of each prompt (``tokenizer``: an LmTokenizer)."""
    return [[tokenizer.eos_id] + ids for ids in tokenizer.encode(list(prompts))]


def stop_ids(lm) -> list[int]:
    """Tokens that end a continuation: end-of-text, and the model's own end token (an
    instruction-tuned model such as SmolLM2-Instruct ends turns with another one)."""
    ids = [lm.tokenizer.eos_id]
    own = getattr(lm.module.config, "eos_token_id", None)
    for t in own if isinstance(own, (list, tuple)) else [own]:
        if t is not None and t not in ids:
            ids.append(int(t))
    return ids


def _causal_parts(module: torch.nn.Module) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The backbone (hidden states) and output layer of a causal LM, through a peft wrapper."""
    base = module.get_base_model() if hasattr(module, "get_base_model") else module
    return base.base_model, base.get_output_embeddings()


def completion_batch(prompts: Sequence[Ids], completions: Sequence[Ids], pad_id: int
                     ) -> dict[str, torch.Tensor]:
    """Right-padded ``prompt + completion`` rows: ``input_ids``, ``attention_mask`` and
    ``completion_mask`` (1 at completion tokens), the layout of TRL's preference collator.

    >>> b = completion_batch([[0, 5], [0]], [[6, 7], [8]], pad_id=0)
    >>> b["input_ids"].tolist(), b["completion_mask"].tolist()
    ([[0, 5, 6, 7], [0, 8, 0, 0]], [[0, 0, 1, 1], [0, 1, 0, 0]])
    """
    width = max(len(p) + len(c) for p, c in zip(prompts, completions))
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(prompts), width), dtype=torch.long)
    completion = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, (p, c) in enumerate(zip(prompts, completions)):
        ids[i, :len(p) + len(c)] = torch.tensor(list(p) + list(c), dtype=torch.long)
        attention[i, :len(p) + len(c)] = 1
        completion[i, len(p):len(p) + len(c)] = 1
    return {"input_ids": ids, "attention_mask": attention, "completion_mask": completion}


def sequence_logps(module: torch.nn.Module, input_ids: torch.Tensor,
                   attention_mask: torch.Tensor, completion_mask: torch.Tensor) -> torch.Tensor:
    """Summed log-probability (nats) of each row's completion tokens given what precedes
    them; differentiable. Shape (rows,)."""
    backbone, head = _causal_parts(module)
    hidden = backbone(input_ids=input_ids, attention_mask=attention_mask,
                      use_cache=False).last_hidden_state[:, :-1]
    predicts = completion_mask[:, 1:].bool()  # the hidden state at t predicts token t + 1
    logits = head(hidden[predicts]).float()
    token = torch.log_softmax(logits, -1).gather(-1, input_ids[:, 1:][predicts][:, None])[:, 0]
    rows = torch.arange(input_ids.size(0), device=input_ids.device)[:, None].expand_as(predicts)
    return torch.zeros(input_ids.size(0), device=logits.device).index_add(
        0, rows[predicts], token)


@torch.inference_mode()
def completion_logps(module: torch.nn.Module, prompts: Sequence[Ids],
                     completions: Sequence[Ids], pad_id: int, batch_size: int = 32
                     ) -> np.ndarray:
    """:func:`sequence_logps` of many (prompt, completion) pairs, in batches of similar
    length; float64 array in the input order."""
    module.eval()
    device = next(module.parameters()).device
    order = np.argsort([len(p) + len(c) for p, c in zip(prompts, completions)], kind="stable")
    out = np.zeros(len(prompts))
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        batch = completion_batch([prompts[i] for i in idx], [completions[i] for i in idx],
                                 pad_id)
        batch = {k: v.to(device) for k, v in batch.items()}
        out[idx] = sequence_logps(module, **batch).double().cpu().numpy()
    return out


def _strip(row: Sequence[int], stops: Sequence[int]) -> Ids:
    """The sampled tokens up to and including the first stop token."""
    out = []
    for t in row:
        out.append(int(t))
        if t in stops:
            break
    return out


@torch.inference_mode()
def sample(module: torch.nn.Module, prompts: Sequence[Ids], k: int, max_new_tokens: int,
           stops: Sequence[int], pad_id: int, seed: int, batch_size: int = 64
           ) -> list[list[Ids]]:
    """``k`` continuations of each prompt, sampled at temperature 1 from the full
    distribution; ``out[i][j]`` is prompt ``i``'s ``j``-th continuation (token ids, its stop
    token included when one was sampled).

    Rows are sampled in batches of similar prompt length (left-padded; the attention mask
    keeps padding out), each batch with its own seed derived from ``seed``, so the same
    call gives the same samples.
    """
    from transformers import GenerationConfig

    module.eval()
    device = next(module.parameters()).device
    config = GenerationConfig(do_sample=True, temperature=1.0, top_k=0, top_p=1.0,
                              max_new_tokens=max_new_tokens, eos_token_id=list(stops),
                              pad_token_id=pad_id)
    rows = [(i, j) for i in range(len(prompts)) for j in range(k)]
    rows.sort(key=lambda r: len(prompts[r[0]]))
    out: list[list[Ids]] = [[[] for _ in range(k)] for _ in prompts]
    for b, start in enumerate(range(0, len(rows), batch_size)):
        part = rows[start:start + batch_size]
        width = max(len(prompts[i]) for i, _ in part)
        ids = torch.full((len(part), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(part), width), dtype=torch.long)
        for r, (i, _) in enumerate(part):
            ids[r, width - len(prompts[i]):] = torch.tensor(prompts[i])
            mask[r, width - len(prompts[i]):] = 1
        torch.manual_seed(seed * 100_003 + b)
        new = module.generate(input_ids=ids.to(device), attention_mask=mask.to(device),
                              generation_config=config)[:, width:].cpu().tolist()
        for (i, j), row in zip(part, new):
            out[i][j] = _strip(row, stops)
    return out
