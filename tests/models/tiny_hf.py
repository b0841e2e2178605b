"""Tiny random Hugging Face encoders (BERT, RoBERTa, DistilBERT) saved in a folder, as
``save_pretrained`` writes a model of the Hub: built from configs, nothing downloaded."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import FILLER, NEGATIVE, POSITIVE

KINDS = ("bert", "roberta", "distilbert")  # every compressor handles these
OTHER = "electra"  # an encoder early exit does not handle
WORDS = sorted(set(FILLER + POSITIVE + NEGATIVE))


def _wordpiece():
    """A lower-cased WordPiece tokenizer over the test vocabulary (digits as pieces)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *"0123456789",
             *(f"##{d}" for d in "0123456789")]
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    return tok, {"unk_token": "[UNK]", "pad_token": "[PAD]", "cls_token": "[CLS]",
                 "sep_token": "[SEP]", "mask_token": "[MASK]"}


def _byte_bpe():
    """A byte-level BPE tokenizer with RoBERTa's special tokens and template."""
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        pre_tokenizers,
        processors,
        trainers,
    )

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([" ".join(WORDS)] * 3 + list("0123456789"), trainer=trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    return tok, {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                 "pad_token": "<pad>", "cls_token": "<s>", "sep_token": "</s>",
                 "mask_token": "<mask>"}


def make_tiny_encoder(kind: str, folder: Path, layers: int = 3, seed: int = 0) -> Path:
    """A random ``kind`` encoder (H=16, ``layers`` layers, no classification head) and its
    tokenizer, written to ``folder`` with ``save_pretrained``."""
    import torch
    from transformers import (
        AutoModel,
        BertConfig,
        DistilBertConfig,
        ElectraConfig,
        PreTrainedTokenizerFast,
        RobertaConfig,
    )

    tok, specials = _byte_bpe() if kind == "roberta" else _wordpiece()
    vocab = tok.get_vocab_size()
    if kind == "bert":
        config = BertConfig(vocab_size=vocab, hidden_size=16, num_hidden_layers=layers,
                            num_attention_heads=2, intermediate_size=32,
                            max_position_embeddings=64, pad_token_id=0)
    elif kind == "roberta":
        config = RobertaConfig(vocab_size=vocab, hidden_size=16, num_hidden_layers=layers,
                               num_attention_heads=2, intermediate_size=32,
                               max_position_embeddings=66, pad_token_id=1, bos_token_id=0,
                               eos_token_id=2, type_vocab_size=1)
    elif kind == "electra":
        config = ElectraConfig(vocab_size=vocab, embedding_size=16, hidden_size=16,
                               num_hidden_layers=layers, num_attention_heads=2,
                               intermediate_size=32, max_position_embeddings=64, pad_token_id=0)
    else:
        config = DistilBertConfig(vocab_size=vocab, dim=16, n_layers=layers, n_heads=2,
                                  hidden_dim=32, max_position_embeddings=64, pad_token_id=0)
    torch.manual_seed(seed)
    AutoModel.from_config(config).save_pretrained(folder)
    PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=64,
                            **specials).save_pretrained(folder)
    return Path(folder)
