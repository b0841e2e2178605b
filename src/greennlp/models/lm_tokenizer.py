"""The tokenizer shared by the n-gram, LSTM and GPT models: byte-level BPE on train.

Byte-level BPE (GPT-2's scheme, Hugging Face ``tokenizers``) can encode any text
without an unknown token, and decoding gives the text back exactly. Both matter for a
fair perplexity: an ``<unk>`` would let a model buy probability cheaply for whatever
it maps to it. The vocabulary is learned on the training split only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

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

    def save(self, path: Path) -> None:
        self.tokenizer.save(str(path))

    @classmethod
    def load(cls, path: Path) -> "LmTokenizer":
        return cls(Tokenizer.from_file(str(path)))
