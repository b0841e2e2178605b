"""Masked-LM pre-training of a classifier's encoder (the ``masked-lm`` training of the
family table, used by ``transformer_mlm``).

The scratch encoder (``transformer`` settings, its own BPE) is first trained as
``BertForMaskedLM`` on the training texts alone, labels unused (settings: ``lm.mlm``'s
``mask_fraction`` and ``train``); its encoder weights then go into the classifier,
which :func:`greennlp.train.classifiers.fit_family` then fine-tunes with the
``transformer.train`` settings like ``transformer``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from greennlp.data.split import Splits
from greennlp.models.classifier import EncoderClassifier
from greennlp.models.mlm import build_bert_mlm, masked_batch, masked_nll, transfer_encoder
from greennlp.train.lm import fit_blocks, token_blocks


def _ids(model: EncoderClassifier, texts: list[str]) -> list[list[int]]:
    return [e.ids for e in model.tokenizer.encode_batch(texts, add_special_tokens=False)]


def pretrain_mlm(model: EncoderClassifier, splits: Splits, mlm_cfg, seed: int,
                 ckpt_dir: Path) -> dict[str, Any]:
    """Masked-LM pre-training of ``model``'s encoder on the training texts; returns facts."""
    tok = model.tokenizer
    special = [tok.token_to_id(t) for t in ("[PAD]", "[CLS]", "[SEP]", "[MASK]")]
    pad, sep, mask = special[0], special[2], special[3]
    context = model.max_length - 1
    blocks = token_blocks(_ids(model, splits.train["text"].tolist()), sep, context)
    torch.manual_seed(seed)
    mlm = build_bert_mlm(model.model.config.to_dict())
    vocab = tok.get_vocab_size()
    dev = _ids(model, splits.dev["text"].tolist()[:1000])

    def dev_score() -> float:
        nll, count = masked_nll(mlm, dev, context=context, vocab_size=vocab, mask_id=mask,
                                pad_id=pad, special_ids=special, fraction=mlm_cfg.mask_fraction,
                                seed=seed)
        return -float(nll.sum()) / max(1, int(count.sum()))

    info = fit_blocks(mlm, blocks, masked_batch(torch.device("cpu"), vocab, mask,
                                                mlm_cfg.mask_fraction, seed, special),
                      dev_score, mlm_cfg.train, ckpt_dir, seed=seed, desc="pre-train (masked LM)")
    transfer_encoder(mlm, model.model)
    return {k: v for k, v in info.items() if k not in ("history", "config")}
