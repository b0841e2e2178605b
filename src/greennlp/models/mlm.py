"""Masked-LM pre-training of a BERT-style encoder, and its use for classification.

``bert_mlm`` (task lm) pre-trains ``transformers.BertForMaskedLM`` from scratch on the
corpus with the shared byte-level BPE and reports its masked-token perplexity: the
perplexity of the ~15% masked tokens given the rest of the document. It sees context
on both sides, so it is *not* comparable with the causal models' perplexity.
``transformer_mlm`` (classification) pre-trains the ``transformer`` encoder the same way
on the training texts (labels unused), then fine-tunes it with a classification head.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from transformers import BertConfig, BertForMaskedLM

from greennlp.models.checkpoints import state_without_ties, write_folder
from greennlp.models.lm_tokenizer import LmTokenizer
from greennlp.models.neural_lm import read_checkpoint


def masked_batch(device: torch.device, vocab_size: int, mask_id: int, fraction: float,
                 seed: int, special_ids: Sequence[int] = ()) -> Callable[[np.ndarray, int], dict]:
    """BERT's masking: ``fraction`` of tokens are targets; of those 80% become the mask
    token, 10% a random token, 10% stay. The pattern is seeded by the batch index."""
    special = torch.tensor(sorted(set(special_ids)), dtype=torch.long)

    def make(rows: np.ndarray, index: int) -> dict:
        gen = torch.Generator().manual_seed(seed * 1_000_003 + index)
        ids = torch.from_numpy(rows[:, :-1]).clone()
        chosen = (torch.rand(ids.shape, generator=gen) < fraction) & ~torch.isin(ids, special)
        labels = torch.where(chosen, ids, torch.full_like(ids, -100))
        roll = torch.rand(ids.shape, generator=gen)
        ids[chosen & (roll < 0.8)] = mask_id
        swap = chosen & (roll >= 0.8) & (roll < 0.9)
        ids[swap] = torch.randint(0, vocab_size, (int(swap.sum()),), generator=gen)
        return {"input_ids": ids.to(device), "labels": labels.to(device)}
    return make


def build_bert_mlm(hf_config: dict[str, Any], attn: str = "sdpa") -> BertForMaskedLM:
    """A randomly initialised ``BertForMaskedLM`` from a config dict."""
    config = BertConfig.from_dict({k: v for k, v in hf_config.items()
                                   if k not in ("transformers_version", "_attn_implementation")})
    config._attn_implementation = attn
    return BertForMaskedLM(config)


def chunks(ids: Sequence[int], size: int) -> list[list[int]]:
    """``ids`` cut into pieces of at most ``size`` tokens (at least one, maybe empty)."""
    return [list(ids[i:i + size]) for i in range(0, max(1, len(ids)), size)]


def _masked_pieces(model: BertForMaskedLM, pieces: Sequence[Sequence[int]], start: int, *,
                   vocab_size: int, mask_id: int, pad_id: int, special_ids: Sequence[int],
                   fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-token NLL of the masked tokens of a batch of pieces, and which were masked."""
    width = max(1, max(len(c) for c in pieces))
    rows = np.full((len(pieces), width + 1), pad_id, dtype=np.int64)
    for i, c in enumerate(pieces):
        rows[i, :len(c)] = c
    batch = masked_batch(torch.device("cpu"), vocab_size, mask_id, fraction, seed,
                         special_ids)(rows, start)
    mask = torch.from_numpy(rows[:, :-1] != pad_id)
    device = next(model.parameters()).device
    logits = model(input_ids=batch["input_ids"].to(device),
                   attention_mask=mask.long().to(device)).logits.float().cpu()
    token_nll = F.cross_entropy(logits.transpose(1, 2), batch["labels"], reduction="none")
    return token_nll.numpy(), (batch["labels"] != -100).numpy()


@torch.inference_mode()
def masked_nll(model: BertForMaskedLM, docs: Sequence[Sequence[int]], *, context: int,
               batch_size: int = 64, **masking) -> tuple[np.ndarray, np.ndarray]:
    """NLL (nats) of the masked tokens of each document and how many were masked.

    Documents are cut into pieces of ``context`` tokens; masks are drawn with BERT's
    80/10/10 rule from a generator seeded per piece, so every model and every call
    sees the same masks. ``masking``: vocab_size, mask_id, pad_id, special_ids,
    fraction, seed.
    """
    model.eval()
    pieces = [(d, c) for d, doc in enumerate(docs) for c in chunks(doc, context)]
    nll, count = np.zeros(len(docs)), np.zeros(len(docs), dtype=np.int64)
    for start in range(0, len(pieces), batch_size):
        part = pieces[start:start + batch_size]
        token_nll, masked = _masked_pieces(model, [c for _, c in part], start, **masking)
        for i, (d, _) in enumerate(part):
            nll[d] += float(token_nll[i].sum())
            count[d] += int(masked[i].sum())
    return nll, count


@torch.inference_mode()
def masked_stream_nll(model: BertForMaskedLM, stream: np.ndarray, owner: np.ndarray, n_docs: int,
                      *, context: int, batch_size: int = 64, **masking
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`masked_nll` for running text: the stream is cut into pieces of
    ``context`` tokens (so a piece spans document ends) and each masked token's NLL goes
    to the document ``owner`` gives it."""
    model.eval()
    starts = list(range(0, len(stream), context))
    nll, count = np.zeros(n_docs), np.zeros(n_docs, dtype=np.int64)
    for b in range(0, len(starts), batch_size):
        part = starts[b:b + batch_size]
        token_nll, masked = _masked_pieces(
            model, [stream[s:s + context].tolist() for s in part], b, **masking)
        for i, s in enumerate(part):
            n = min(context, len(stream) - s)
            docs = owner[s:s + n]
            nll += np.bincount(docs, weights=token_nll[i, :n] * masked[i, :n], minlength=n_docs)
            count += np.bincount(docs, weights=masked[i, :n], minlength=n_docs).astype(np.int64)
    return nll, count


class MaskedLM:
    """A BERT masked LM with the shared tokenizer; scored by masked-token perplexity."""

    family = "bert_mlm"

    def __init__(self, model: BertForMaskedLM, tokenizer: LmTokenizer, context_length: int,
                 mask_fraction: float, seed: int = 0) -> None:
        self.module, self.tokenizer = model, tokenizer
        self.context_length, self.mask_fraction, self.seed = context_length, mask_fraction, seed

    def _masking(self) -> dict[str, Any]:
        tok = self.tokenizer
        return {"vocab_size": tok.vocab_size, "mask_id": tok.mask_id, "pad_id": tok.pad_id,
                "special_ids": [tok.eos_id, tok.pad_id, tok.mask_id],
                "fraction": self.mask_fraction, "seed": self.seed}

    def score_texts(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Masked-token NLL and number of masked tokens per document."""
        return masked_nll(self.module, self.tokenizer.encode(texts), context=self.context_length,
                          **self._masking())

    def score_stream(self, texts: Sequence[str], window: int, stride: int
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Per document, masked-token NLL and count with the documents as running text,
        in pieces of the model's context (the window and stride do not apply: each
        masked token is predicted from both sides of its piece)."""
        from greennlp.models.lm_tokenizer import join_documents

        stream, owner = join_documents(self.tokenizer.encode(list(texts)), self.tokenizer.eos_id)
        self.last_window = (self.context_length, self.context_length)
        # the leading end-of-text is context only; it belongs to the first document's piece
        return masked_stream_nll(self.module, stream, np.concatenate([[0], owner]), len(texts),
                                 context=self.context_length, **self._masking())

    def parameter_counts(self) -> dict[str, int]:
        from greennlp.models.accounting import count_parameters

        return count_parameters(self.module)

    def save(self, folder: Path) -> Path:
        return write_folder(folder, {
            "family": self.family, "hf_config": self.module.config.to_dict(),
            "context_length": self.context_length, "mask_fraction": self.mask_fraction,
            "seed": self.seed}, weights=state_without_ties(self.module), tokenizer=self.tokenizer)

    @classmethod
    def load(cls, folder: Path) -> "MaskedLM":
        model, tokenizer, meta = read_checkpoint(folder, lambda m: build_bert_mlm(m["hf_config"]))
        return cls(model, tokenizer, meta["context_length"], meta["mask_fraction"], meta["seed"])


def transfer_encoder(mlm: BertForMaskedLM, classifier: torch.nn.Module) -> None:
    """Copy the pre-trained encoder into a ``BertForSequenceClassification``; only its
    pooler (which masked-LM pre-training does not train) keeps its initialisation."""
    missing, unexpected = classifier.bert.load_state_dict(mlm.bert.state_dict(), strict=False)
    if unexpected or any(not k.startswith("pooler.") for k in missing):
        raise ValueError(f"encoder shapes differ: missing {missing}, unexpected {unexpected}")
