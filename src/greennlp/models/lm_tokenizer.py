"""The tokenizer shared by the n-gram, LSTM and GPT models: byte-level BPE on train.

Byte-level BPE (GPT-2's scheme, Hugging Face ``tokenizers``) can encode any text
without an unknown token, and decoding gives the text back exactly. Both matter for a
fair perplexity: an ``<unk>`` would let a model buy probability cheaply for whatever
it maps to it. The vocabulary is learned on the training split only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

EOS, PAD, MASK = "<|endoftext|>", "<|pad|>", "<|mask|>"
SPECIAL_TOKENS = [EOS, PAD, MASK]


def train_lm_tokenizer(texts: Sequence[str], vocab_size: int) -> Tokenizer:
    """Learn a byte-level BPE of ``vocab_size`` tokens (specials included) on ``texts``."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  min_frequency=2, show_progress=False)
    tok.train_from_iterator(list(texts), trainer=trainer)
    return tok


def join_documents(docs: Sequence[Sequence[int]], eos_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Running text ``<eot> doc <eot> doc ... <eot>`` and the document of each target.

    Every token after the first is a target; the end-of-text after a document is that
    document's (as a newline ends a line), so document ``k`` has ``len(doc) + 1`` targets.

    >>> stream, owner = join_documents([[5, 6], [7]], eos_id=0)
    >>> stream.tolist(), owner.tolist()
    ([0, 5, 6, 0, 7, 0], [0, 0, 0, 1, 1])
    """
    lengths = np.array([len(d) + 1 for d in docs], dtype=np.int64)
    stream = np.full(int(lengths.sum()) + 1, eos_id, dtype=np.int64)
    at = 1
    for d in docs:
        stream[at:at + len(d)] = d
        at += len(d) + 1
    return stream, np.repeat(np.arange(len(docs)), lengths)


def sliding_windows(n_tokens: int, window: int, stride: int) -> list[tuple[int, int, int]]:
    """``(begin, end, first)``: windows ``[begin, end)`` of a stream of ``n_tokens``, each
    predicting its tokens at positions ``first .. end - 1`` from the tokens before them in
    the window (Hugging Face's sliding-window perplexity recipe). Every token after the
    first is predicted once, with at least ``window - stride`` tokens of context (fewer
    only in the first window).

    >>> sliding_windows(10, 4, 2)
    [(0, 4, 1), (2, 6, 4), (4, 8, 6), (6, 10, 8)]
    """
    out, prev_end = [], 1
    for begin in range(0, max(1, n_tokens - 1), stride):
        end = min(begin + window, n_tokens)
        out.append((begin, end, max(prev_end, begin + 1)))
        prev_end = end
        if end == n_tokens:
            break
    return out


def fit_window(window: int, stride: int, context: int | None) -> tuple[int, int]:
    """The window and stride for a model that reads at most ``context`` tokens: the window
    capped at ``context + 1`` (inputs plus the last target), the stride scaled with it.

    >>> fit_window(512, 256, 64), fit_window(512, 256, None)
    ((65, 32), (512, 256))
    """
    if context is None or window <= context + 1:
        return window, stride
    return context + 1, max(1, min(context, stride * (context + 1) // window))


class LmTokenizer:
    """A thin wrapper: ids without special tokens, the end-of-text id, decode."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.eos_id = tokenizer.token_to_id(EOS)
        # Pretrained vocabularies (SmolLM2) have no padding or mask token: pad with EOS,
        # which is never a prediction target at padded positions.
        pad = tokenizer.token_to_id(PAD)
        self.pad_id = self.eos_id if pad is None else pad
        self.mask_id = tokenizer.token_to_id(MASK)

    @classmethod
    def train(cls, texts: Sequence[str], vocab_size: int) -> "LmTokenizer":
        return cls(train_lm_tokenizer(texts, vocab_size))

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    @property
    def unpredictable_ids(self) -> list[int]:
        """Ids no document ever contains (padding and mask), left out of distributions."""
        return [i for i in (self.pad_id, self.mask_id) if i is not None and i != self.eos_id]

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text (no special tokens added)."""
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=True)

    def describe(self) -> str:
        """One line for the report: the kind of tokenizer, its size, case kept or not."""
        kind = type(self.tokenizer.model).__name__
        if "ByteLevel" in repr(self.tokenizer.pre_tokenizer):
            kind = f"byte-level {kind}"
        norm = self.tokenizer.normalizer
        case = "lower-cases" if norm is not None and "Lowercase" in repr(norm) else "case kept"
        return f"{kind}, {self.vocab_size:,} tokens, {case}"

    def save(self, path: Path) -> None:
        self.tokenizer.save(str(path))

    @classmethod
    def load(cls, path: Path) -> "LmTokenizer":
        return cls(Tokenizer.from_file(str(path)))
