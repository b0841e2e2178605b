"""A BERT-style encoder classifier built from a config and trained from scratch.

The tokenizer is a BPE vocabulary learned on the training split only (Hugging Face
``tokenizers``), so nothing about dev or test leaks into the model. BPE without a
continuing-subword prefix is used because it is deterministic: the WordPiece trainer
assigns ``##`` token ids in hash-map order, so the same data and seed gave different
vocabularies (huggingface/tokenizers#1794), which made runs irreproducible.
"""

from __future__ import annotations

from typing import Sequence

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

from greennlp.memo import Recent, texts_digest
from greennlp.models.classifier import EncoderClassifier, build_from_hf_config

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


# Tokenizers learned in this process, as JSON: (texts digest, vocab size) -> tokenizer.
_learned = Recent(4)


def train_tokenizer(texts: Sequence[str], vocab_size: int) -> Tokenizer:
    """Learn a lower-cased BPE tokenizer that wraps inputs in [CLS] ... [SEP].

    Learning is deterministic, so a tokenizer already learned on the same texts at the
    same vocabulary size (every search trial and seed of a run) is returned again, as a
    new object (callers set its truncation) rebuilt from its JSON.
    """
    key = (texts_digest(texts), vocab_size)
    return Tokenizer.from_str(_learned.get_or_make(
        key, lambda: _learn_tokenizer(texts, vocab_size).to_str()))


def _learn_tokenizer(texts: Sequence[str], vocab_size: int) -> Tokenizer:
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  min_frequency=2, show_progress=False)
    tok.train_from_iterator(list(texts), trainer=trainer)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    return tok


def hf_config_for(cfg, vocab_size: int, labels: Sequence[str]) -> dict:
    """The ``transformers`` BertConfig dict for a :class:`~greennlp.config.TransformerConfig`."""
    return {
        "model_type": "bert", "vocab_size": vocab_size, "hidden_size": cfg.hidden_size,
        "num_hidden_layers": cfg.num_layers, "num_attention_heads": cfg.num_heads,
        "intermediate_size": cfg.intermediate_size, "hidden_act": "gelu",
        "hidden_dropout_prob": cfg.dropout, "attention_probs_dropout_prob": cfg.dropout,
        "max_position_embeddings": cfg.max_length, "type_vocab_size": 2,
        "num_labels": len(labels), "id2label": dict(enumerate(labels)),
        "label2id": {lab: i for i, lab in enumerate(labels)}, "pad_token_id": 0,
    }


def build_scratch_encoder(cfg, train_texts: Sequence[str], labels: Sequence[str],
                          seed: int = 0, family: str = "transformer") -> EncoderClassifier:
    """Tokenizer trained on ``train_texts`` and a randomly initialised encoder classifier.

    ``cfg`` is a :class:`~greennlp.config.TransformerConfig` (its ``check`` makes the
    width divisible by the heads); ``family`` names the model in the record."""
    import torch

    tokenizer = train_tokenizer(train_texts, cfg.vocab_size)
    torch.manual_seed(seed)
    model = build_from_hf_config(hf_config_for(cfg, tokenizer.get_vocab_size(), labels))
    return EncoderClassifier(model, tokenizer, labels, cfg.max_length, family=family)
