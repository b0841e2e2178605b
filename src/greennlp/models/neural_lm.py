"""One wrapper for every torch language model: scoring, sampling, accounting, checkpoints.

The LSTM, the GPT-style decoder and the pretrained SmolLM2 share it: each is a module
whose ``forward(input_ids)`` returns ``.logits``, plus a tokenizer with an end-of-text
token. Two ways to score: :meth:`NeuralLM.score_stream` joins the documents into running
text (``<eot> doc <eot> doc ... <eot>``) and scores it with a sliding window, so a
document is predicted with the text before it as context; :meth:`NeuralLM.score_texts`
scores each document alone as ``<eot> text <eot>``, given only the document itself
(documents longer than a decoder's context are then scored with a sliding window of
stride half the context, each token once).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from greennlp.models.accounting import count_parameters
from greennlp.models.checkpoints import (META_NAME, WEIGHTS_NAME, load_weights, state_without_ties,
                                         write_folder)
from greennlp.models.lm_tokenizer import (LmTokenizer, fit_window, join_documents,
                                          sliding_windows)
from greennlp.models.sampling import next_token

def _decoder(spec: dict[str, Any], attn: str) -> torch.nn.Module:
    from greennlp.models.decoder import Decoder, DecoderSpec

    return Decoder(DecoderSpec(**spec), attn=attn)


def _lstm(spec: dict[str, Any], attn: str) -> torch.nn.Module:
    from greennlp.models.lstm import LstmLM, LstmSpec

    return LstmLM(LstmSpec(**spec))


ARCHITECTURES = {"decoder": _decoder, "lstm": _lstm}  # a family's ``architecture`` -> builder


def build_module(architecture: str, spec: dict[str, Any], attn: str = "sdpa") -> torch.nn.Module:
    """A randomly initialised causal LM of ``architecture`` (``decoder`` or ``lstm``) from
    its spec dict."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown language model architecture {architecture!r}; known: "
                         f"{', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[architecture](spec, attn)


def _batch_nll(module: torch.nn.Module, seqs: list[list[int]], pad_id: int) -> np.ndarray:
    width = max(len(s) for s in seqs) - 1
    inputs = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    labels = torch.full((len(seqs), width), -100, dtype=torch.long)
    for i, s in enumerate(seqs):
        inputs[i, :len(s) - 1] = torch.tensor(s[:-1])
        labels[i, :len(s) - 1] = torch.tensor(s[1:])
    device = next(module.parameters()).device
    logits = module(input_ids=inputs.to(device)).logits.float()
    nll = F.cross_entropy(logits.transpose(1, 2), labels.to(device), reduction="none")
    return nll.sum(1).cpu().numpy()


def _sliding_nll(module: torch.nn.Module, seq: list[int], context: int) -> float:
    """NLL of ``seq[1:]`` with windows of ``context`` inputs, each target scored once."""
    n, stride = len(seq) - 1, max(1, context // 2)
    total, done, end = 0.0, 0, min(context, n)
    while done < n:
        start = max(0, end - context)
        total += _window_tail(module, seq[start:end + 1], done - start)
        done, end = end, min(end + stride, n)
    return total


def _window_tail(module: torch.nn.Module, window: list[int], skip: int) -> float:
    device = next(module.parameters()).device
    ids = torch.tensor(window, device=device)[None]
    logits = module(input_ids=ids[:, :-1]).logits[0].float()
    nll = F.cross_entropy(logits, ids[0, 1:], reduction="none")
    return float(nll[skip:].sum())


def stream_token_nll(module: torch.nn.Module, stream: np.ndarray, window: int, stride: int,
                     batch_tokens: int = 4096) -> np.ndarray:
    """NLL (nats) of every token of ``stream`` after the first, by :func:`sliding_windows`.

    Windows of the same length go through the model together, about ``batch_tokens``
    tokens at a time.
    """
    batch_size = max(1, batch_tokens // window)
    device = next(module.parameters()).device
    nll = np.zeros(len(stream))
    by_length: dict[int, list[tuple[int, int, int]]] = {}
    for w in sliding_windows(len(stream), window, stride):
        by_length.setdefault(w[1] - w[0], []).append(w)
    for group in by_length.values():
        for start in range(0, len(group), batch_size):
            part = group[start:start + batch_size]
            ids = torch.from_numpy(np.stack([stream[b:e] for b, e, _ in part])).to(device)
            logits = module(input_ids=ids[:, :-1]).logits.float()
            token = F.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none").cpu()
            for row, (b, e, first) in zip(token.numpy(), part):
                nll[first:e] = row[first - b - 1:]
    return nll[1:]


def read_checkpoint(folder: Path, build) -> tuple[torch.nn.Module, LmTokenizer, dict[str, Any]]:
    """The module ``build(meta)`` returns, with the weights :func:`write_folder` saved,
    the tokenizer and meta."""
    folder = Path(folder)
    meta = json.loads((folder / META_NAME).read_text())
    module = load_weights(build(meta), folder / WEIGHTS_NAME).eval()
    return module, LmTokenizer.load(folder / "tokenizer.json"), meta


class NeuralLM:
    """A torch LM with its tokenizer and the spec that rebuilds it.

    Parameters
    ----------
    module
        ``forward(input_ids)`` -> object with ``logits`` (batch, seq, vocab).
    tokenizer
        An :class:`LmTokenizer` (encode, decode, eos_id, pad_id).
    family
        The model family's name (for the record, and for the loader to find it).
    spec
        The config dict the module was built from (saved in the checkpoint).
    context_length
        Longest input the module accepts (None: unlimited, e.g. an LSTM).
    """

    def __init__(self, module: torch.nn.Module, tokenizer: LmTokenizer, family: str,
                 spec: dict[str, Any], context_length: int | None) -> None:
        self.module, self.tokenizer, self.family = module, tokenizer, family
        self.spec, self.context_length = dict(spec), context_length

    @torch.inference_mode()
    def score_texts(self, texts: Sequence[str], batch_size: int = 64
                    ) -> tuple[np.ndarray, np.ndarray]:
        """NLL in nats and tokens predicted, per document (its end included)."""
        self.module.eval()
        eos = self.tokenizer.eos_id
        seqs = [[eos] + ids + [eos] for ids in self.tokenizer.encode(texts)]
        nll = np.zeros(len(seqs))
        fits = [i for i in np.argsort([len(s) for s in seqs], kind="stable")
                if self.context_length is None or len(seqs[i]) - 1 <= self.context_length]
        for start in range(0, len(fits), batch_size):
            idx = fits[start:start + batch_size]
            nll[idx] = _batch_nll(self.module, [seqs[i] for i in idx], self.tokenizer.pad_id)
        for i in sorted(set(range(len(seqs))) - set(fits)):
            nll[i] = _sliding_nll(self.module, seqs[i], self.context_length)
        return nll, np.array([len(s) - 1 for s in seqs])

    @torch.inference_mode()
    def score_stream(self, texts: Sequence[str], window: int, stride: int
                     ) -> tuple[np.ndarray, np.ndarray]:
        """NLL in nats and tokens predicted, per document, of the documents as running text.

        The window is capped at what the model reads (:func:`fit_window`); the window and
        stride used are left in ``last_window``.
        """
        self.module.eval()
        stream, owner = join_documents(self.tokenizer.encode(list(texts)), self.tokenizer.eos_id)
        self.last_window = fit_window(window, stride, self.context_length)
        token_nll = stream_token_nll(self.module, stream, *self.last_window)
        return (np.bincount(owner, weights=token_nll, minlength=len(texts)),
                np.bincount(owner, minlength=len(texts)))

    @torch.inference_mode()
    def generate(self, prompt: str, *, max_new_tokens: int = 40, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, seed: int = 0) -> str:
        """Continue ``prompt`` until end-of-text or ``max_new_tokens``; returns the new text."""
        self.module.eval()
        device = next(self.module.parameters()).device
        gen = torch.Generator().manual_seed(seed)
        ids = [self.tokenizer.eos_id] + self.tokenizer.encode([prompt])[0]
        new: list[int] = []
        for _ in range(max_new_tokens):
            window = ids[-self.context_length:] if self.context_length else ids
            logits = self.module(input_ids=torch.tensor([window], device=device)).logits[:, -1]
            token = int(next_token(logits.float().cpu(), temperature=temperature, top_k=top_k,
                                   top_p=top_p, generator=gen)[0])
            if token == self.tokenizer.eos_id:
                break
            ids.append(token)
            new.append(token)
        return self.tokenizer.decode(new)

    def parameter_counts(self) -> dict[str, int]:
        return count_parameters(self.module)

    # -- persistence ------------------------------------------------------------------
    def save(self, folder: Path) -> Path:
        """Weights (tied weights once), tokenizer and spec, by the one model-folder writer."""
        return write_folder(folder, {"family": self.family, "spec": self.spec,
                                     "context_length": self.context_length},
                            weights=state_without_ties(self.module), tokenizer=self.tokenizer)

    @classmethod
    def load(cls, folder: Path, architecture: str) -> "NeuralLM":
        """Rebuild the model saved by :meth:`save` (``architecture``: its family's, from
        the family table, which also opens folders saved before it was recorded)."""
        module, tokenizer, meta = read_checkpoint(
            folder, lambda m: build_module(architecture, m["spec"]))
        return cls(module, tokenizer, meta["family"], meta["spec"], meta["context_length"])
