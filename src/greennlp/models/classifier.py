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

import hashlib
import json
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer

from greennlp.memo import Recent, texts_digest
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

# Token ids of whole splits, by (tokenizer digest, texts digest): see encode_once.
_encoded = Recent(4)
# Config keys that name or describe a model but do not change what it computes.
NOT_COMPUTED = ("transformers_version", "architectures", "_name_or_path", "torch_dtype", "dtype",
                "id2label", "label2id")


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

    Attributes
    ----------
    finetune
        Pretrained families: how it was fine-tuned (method, trainable and total
        parameters; :func:`greennlp.models.finetuning.prepare`), else None.
    adapter_files
        Fine-tuned with adapters: peft's files of the adapter alone, saved in ``adapter/``
        beside the merged model (:func:`greennlp.models.finetuning.finish`), else None.
    """

    finetune: dict[str, Any] | None = None
    adapter_files: dict[str, bytes] | None = None

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

    def encode_once(self, texts: Sequence[str]) -> list[list[int]]:
        """:meth:`encode`, remembered per tokenizer (truncation included) and texts: every
        training run of a search, of the seeds and of compression tokenizes the same
        training split. Not for timed passes (a timing must tokenize). Do not mutate the
        returned lists."""
        texts = list(texts)
        key = (hashlib.sha256(self.tokenizer.to_str().encode()).hexdigest(), texts_digest(texts))
        return list(_encoded.get_or_make(key, lambda: self.encode(texts)))

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

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text after truncation: :meth:`predict_proba` batches texts in this
        order (stable)."""
        return [len(x) for x in self.encode(texts)]

    def flops_per_example(self, texts: Sequence[str]) -> float:
        """Mean forward FLOPs over ``texts`` at their real token lengths."""
        return mean_encoder_flops(self.token_lengths(texts), self.model.config,
                                  len(self.labels))

    def fingerprint(self) -> str | None:
        """A digest of everything that decides this model's probabilities: its weights and
        buffers byte for byte, torch class, config (less the keys that only name it),
        attention implementation, tokenizer (with truncation), labels and torch's threads.
        Two models with the same fingerprint predict the same numbers, so
        :func:`greennlp.evaluate.predictions.predict_once` reuses one's predictions for the
        other. None for subclasses, which store their weights their own way."""
        if type(self) is not EncoderClassifier:
            return None
        net = self.model
        config = {k: v for k, v in net.config.to_dict().items() if k not in NOT_COMPUTED}
        head = [type(net).__name__, config, getattr(net.config, "_attn_implementation", None),
                self.labels, self.max_length, torch.get_num_threads()]
        h = hashlib.sha256(json.dumps(head, sort_keys=True, default=str).encode())
        h.update(self.tokenizer.to_str().encode())
        for name, tensor in net.state_dict().items():
            t = tensor.detach().cpu().contiguous()
            h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().data)  # sha256: fastest here
        return h.hexdigest()

    # -- persistence ----------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """What rebuilds this model: the transformers config, labels, length, family."""
        meta = {"family": self.family, "labels": self.labels, "max_length": self.max_length,
                "hf_config": self.model.config.to_dict()}
        if self.finetune:
            meta["finetune"] = self.finetune
        return meta

    def save(self, folder: Path) -> Path:
        """Write a ``transformers`` folder (``save_pretrained``: config with label names,
        safetensors, tokenizer files) and greennlp's metadata to ``folder``."""
        from greennlp.models.finetuning import ADAPTER_DIR, write_adapter

        def files(f: Path) -> None:
            save_hf_folder(f, self.model, self.tokenizer, self.labels, self.max_length)
            if self.adapter_files:
                write_adapter(f / ADAPTER_DIR, self.adapter_files)
        return write_folder(folder, self.describe(), files=files)

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
        from greennlp.models.finetuning import read_adapter

        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        out = cls(model.eval(), tokenizer, meta["labels"], meta["max_length"], meta["family"])
        out.finetune, out.adapter_files = meta.get("finetune"), read_adapter(folder)
        return out


def build_from_hf_config(hf_config: dict[str, Any], attn: str = "sdpa") -> Any:
    """A randomly initialised sequence classifier (any encoder architecture) from a config
    dict; greennlp 0.1 configs, which have no ``model_type``, are BERT."""
    return build_classifier(config_from_dict(hf_config), attn)
