"""Vocabulary trimming: keep only the tokens the training data uses.

The embedding matrix is about half of MiniLM's 22.7M parameters (30,522 x 384), and a
classifier fine-tuned on one domain reads a small part of it. Trimming keeps every token
the training texts produce, the special tokens, and every single character with its
``##`` continuation (so that any word still splits into known pieces, never into
``[UNK]``); the embedding rows of the kept tokens are copied in their original order and
the tokenizer's vocabulary, template and padding ids are renumbered to match.

A word of dev or test that training never produced may now split into smaller pieces,
so predictions can change: :func:`trim_vocabulary`'s caller measures the agreement with
the untrimmed model on dev. WordPiece vocabularies (BERT, DistilBERT, ELECTRA, MiniLM)
are trimmed; BPE vocabularies (RoBERTa) are left whole, since their merges chain through
tokens that the texts never show.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Sequence

import torch
from tokenizers import Tokenizer

from greennlp.models.classifier import EncoderClassifier
from greennlp.models.hf_format import special_tokens


def kept_tokens(tokenizer: Tokenizer, texts: Sequence[str]) -> list[int]:
    """Ids to keep, ascending: those ``texts`` produce, specials, characters and pieces."""
    vocab = tokenizer.get_vocab()
    keep = {vocab[t] for t in special_tokens(tokenizer).values()}
    keep |= {i for t, i in vocab.items() if len(t) == 1 or (t.startswith("##") and len(t) == 3)}
    keep |= {int(i) for e in tokenizer.encode_batch(list(texts)) for i in e.ids}
    return sorted(keep)


def _renumber(tokenizer: Tokenizer, keep: list[int]) -> Tokenizer:
    """The tokenizer with only ``keep`` in its vocabulary, ids renumbered in order."""
    data = json.loads(tokenizer.to_str())
    new_id = {old: new for new, old in enumerate(keep)}
    vocab = data["model"]["vocab"]
    data["model"]["vocab"] = {t: new_id[i] for t, i in sorted(vocab.items(), key=lambda x: x[1])
                              if i in new_id}
    for added in data.get("added_tokens") or []:
        added["id"] = new_id[added["id"]]
    specials = (data.get("post_processor") or {}).get("special_tokens") or {}
    for entry in specials.values():
        entry["ids"] = [new_id[i] for i in entry["ids"]]
    if data.get("padding"):
        data["padding"]["pad_id"] = new_id[data["padding"]["pad_id"]]
    return Tokenizer.from_str(json.dumps(data))


def trimmable(tokenizer: Tokenizer) -> bool:
    """Whether the vocabulary is WordPiece (what :func:`trim_vocabulary` handles)."""
    return json.loads(tokenizer.to_str())["model"]["type"] == "WordPiece"


def trim_vocabulary(clf: EncoderClassifier, texts: Sequence[str]
                    ) -> tuple[EncoderClassifier, dict[str, Any]]:
    """A copy of ``clf`` whose vocabulary holds only what ``texts`` need (see module).

    Returns the trimmed classifier and the facts (tokens and parameters before and after).
    A BPE vocabulary is returned unchanged, with the reason in the facts.
    """
    before = clf.parameter_counts()
    if not trimmable(clf.tokenizer):
        return clf, {"trimmed": False, "why": "not a WordPiece vocabulary"}
    keep = kept_tokens(clf.tokenizer, texts)
    model = copy.deepcopy(clf.model)
    old = model.get_input_embeddings()
    new = torch.nn.Embedding(len(keep), old.embedding_dim, dtype=old.weight.dtype,
                             device=old.weight.device)
    with torch.no_grad():
        new.weight.copy_(old.weight[torch.as_tensor(keep, device=old.weight.device)])
    model.set_input_embeddings(new)
    position = {old_id: i for i, old_id in enumerate(keep)}
    model.config.vocab_size = len(keep)
    for key in ("pad_token_id", "bos_token_id", "eos_token_id", "sep_token_id", "cls_token_id"):
        value = getattr(model.config, key, None)
        if value is not None and value in position:
            setattr(model.config, key, position[value])
    tokenizer = _renumber(clf.tokenizer, keep)
    trimmed = EncoderClassifier(model, tokenizer, clf.labels, clf.max_length, clf.family)
    after = trimmed.parameter_counts()
    return trimmed, {"trimmed": True, "vocab_before": len(clf.tokenizer.get_vocab()),
                     "vocab_after": len(keep), "params_before": before["total"],
                     "params_after": after["total"],
                     "embedding_mb_saved": 4 * (before["embedding"] - after["embedding"]) / 1e6}
