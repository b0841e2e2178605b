"""An encoder sequence classifier with its tokenizer, label names and checkpoint format.

The same wrapper serves an encoder trained from scratch, the fine-tuned MiniLM and any
Hugging Face encoder (BERT, RoBERTa, DistilBERT, ...): all are ``transformers`` sequence
classifiers, so they share batching, prediction, accounting and export. A checkpoint is
a ``transformers`` folder written by ``save_pretrained`` (``config.json`` with the label
names, ``model.safetensors``, tokenizer files; see :mod:`greennlp.models.hf_format`) plus
``greennlp_model.json`` (family, labels, max length, config), so it opens both in
``transformers.pipeline`` and in :meth:`EncoderClassifier.load`. Folders of greennlp 0.1
(no ``config.json``) still load.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer

from greennlp.models.accounting import count_parameters, mean_encoder_flops
from greennlp.models.checkpoints import META_NAME, WEIGHTS_NAME, load_weights, write_folder
from greennlp.models.hf_format import (
    build_classifier,
    config_from_dict,
    pad_id,
    save_hf_folder,
    transformers_tokenizer,
)
from greennlp.models.serving import Predicts


class EncoderClassifier(Predicts):
    """Tokenizer + a ``transformers`` sequence classifier + label names.

    Parameters
    ----------
    model
        The torch model (any ``AutoModelForSequenceClassification`` encoder).
    tokenizer
        A ``tokenizers.Tokenizer`` that adds the model's special tokens ([CLS] ... [SEP]).
    labels
        Class names, in the order of the model's output columns.
    max_length
        Longest input in tokens; longer texts are truncated.
    family
        ``transformer`` (from scratch), ``minilm`` or ``pretrained``, for the record.
    """

    def __init__(self, model: Any, tokenizer: Tokenizer,
                 labels: Sequence[str], max_length: int, family: str) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.max_length = max_length
        self.family = family
        self.tokenizer.enable_truncation(max_length)
        self.tokenizer.no_padding()
        self.pad_id = pad_id(tokenizer, getattr(model, "config", None))

    @property
    def hf_tokenizer(self) -> Any:
        """The tokenizer as a ``transformers`` fast tokenizer (``AutoTokenizer``'s kind)."""
        return transformers_tokenizer(self.tokenizer, self.max_length)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    # -- batching -----------------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, truncated to ``max_length``, without padding."""
        return [e.ids for e in self.tokenizer.encode_batch(list(texts))]

    def collate(self, ids: Sequence[Sequence[int]], labels: Sequence[int] | None = None
                ) -> dict[str, torch.Tensor]:
        """Pad a batch to its longest sequence (dynamic padding) and build the mask."""
        width = max(len(x) for x in ids)
        input_ids = torch.full((len(ids), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for i, x in enumerate(ids):
            input_ids[i, :len(x)] = torch.tensor(x, dtype=torch.long)
            mask[i, :len(x)] = 1
        batch = {"input_ids": input_ids, "attention_mask": mask}
        if labels is not None:
            batch["labels"] = torch.as_tensor(labels, dtype=torch.long)
        return {k: v.to(self.device) for k, v in batch.items()}

    def batches(self, ids: Sequence[Sequence[int]], batch_size: int,
                labels: Sequence[int] | None = None, order: np.ndarray | None = None
                ) -> Iterator[dict[str, torch.Tensor]]:
        """Batches in ``order`` (default: as given)."""
        order = np.arange(len(ids)) if order is None else order
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            yield self.collate([ids[i] for i in idx],
                               None if labels is None else [labels[i] for i in idx])

    # -- prediction -----------------------------------------------------------------
    @torch.inference_mode()
    def predict_proba(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Class probabilities, columns in ``self.labels`` order."""
        self.model.eval()
        ids = self.encode(texts)
        # Sorting by length wastes less compute on padding; the result is put back in order.
        order = np.argsort([len(x) for x in ids], kind="stable")
        out = np.empty((len(ids), len(self.labels)), dtype=np.float32)
        for start, batch in zip(range(0, len(ids), batch_size), self.batches(ids, batch_size, order=order)):
            logits = self.model(**batch).logits.float()
            out[order[start:start + batch_size]] = torch.softmax(logits, -1).cpu().numpy()
        return out

    # -- accounting -----------------------------------------------------------------
    def parameter_counts(self) -> dict[str, int]:
        return count_parameters(self.model)

    def flops_per_example(self, texts: Sequence[str]) -> float:
        """Mean forward FLOPs over ``texts`` at their real token lengths."""
        lengths = [len(x) for x in self.encode(texts)]
        return mean_encoder_flops(lengths, self.model.config, len(self.labels))

    # -- persistence ----------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """What rebuilds this model: the transformers config, labels, length, family."""
        return {"family": self.family, "labels": self.labels, "max_length": self.max_length,
                "hf_config": self.model.config.to_dict()}

    def save(self, folder: Path) -> Path:
        """Write a ``transformers`` folder (``save_pretrained``: config with label names,
        safetensors, tokenizer files) and greennlp's metadata to ``folder``."""
        return write_folder(folder, self.describe(), files=lambda f: save_hf_folder(
            f, self.model, self.tokenizer, self.labels, self.max_length))

    @classmethod
    def load(cls, folder: Path) -> "EncoderClassifier":
        """Rebuild the exact model saved by :meth:`save` (or by greennlp 0.1)."""
        folder = Path(folder)
        meta = json.loads((folder / META_NAME).read_text())
        model = build_from_hf_config(meta["hf_config"])
        if (folder / "config.json").exists():  # written by save_pretrained: tied tensors once
            load_weights(model, folder / WEIGHTS_NAME)
        else:
            model.load_state_dict(load_file(str(folder / WEIGHTS_NAME)))
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        return cls(model.eval(), tokenizer, meta["labels"], meta["max_length"], meta["family"])


def build_from_hf_config(hf_config: dict[str, Any], attn: str = "sdpa") -> Any:
    """A randomly initialised sequence classifier (any encoder architecture) from a config
    dict; greennlp 0.1 configs, which have no ``model_type``, are BERT."""
    return build_classifier(config_from_dict(hf_config), attn)
