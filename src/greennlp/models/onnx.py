"""An encoder classifier run by ONNX Runtime (fp32 or int8), loaded from its ONNX file.

The compressor that exports, fuses and quantizes it is
:class:`greennlp.compress.onnx_int8.OnnxRuntimeInt8`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
from tokenizers import Tokenizer

from greennlp.models.accounting import mean_encoder_flops
from greennlp.models.checkpoints import META_NAME, read_folder, write_folder
from greennlp.models.hf_format import pad_id, transformers_tokenizer
from greennlp.models.serving import Predicts

MODEL_FILE = "model.onnx"
OLD_META_FILE = "greennlp_onnx.json"  # the metadata's name before the one folder writer


def session(path: Path, threads: int | None = None):
    """An ONNX Runtime CPU session with all graph optimisations and ``threads`` threads."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads is None:  # the threads the run gave torch (every usable CPU by default)
        import torch

        threads = torch.get_num_threads()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


class OnnxClassifier(Predicts):
    """Tokenizer + ONNX Runtime session + labels; predicts like an EncoderClassifier."""

    def __init__(self, path: Path, tokenizer: Tokenizer, labels: Sequence[str], max_length: int,
                 family: str, meta: dict[str, Any]) -> None:
        self.path = Path(path)
        self.labels, self.family, self.meta = list(labels), family, meta
        self.max_length = max_length
        self.tokenizer = tokenizer
        tokenizer.enable_truncation(max_length)
        tokenizer.no_padding()
        self.pad_id = pad_id(tokenizer, None) if meta.get("pad_id") is None else meta["pad_id"]
        self.session = self._open()

    def _open(self) -> Any:
        """The runtime's compiled model (ONNX Runtime here; OpenVINO in a subclass)."""
        return session(self.path)

    def _logits(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(["logits"], arrays)[0]

    @property
    def hf_tokenizer(self) -> Any:
        """The tokenizer as a ``transformers`` fast tokenizer (``AutoTokenizer``'s kind)."""
        return transformers_tokenizer(self.tokenizer, self.max_length)

    def _arrays(self, ids: Sequence[Sequence[int]]) -> dict[str, np.ndarray]:
        width = max(len(x) for x in ids)
        input_ids = np.full((len(ids), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for i, x in enumerate(ids):
            input_ids[i, :len(x)] = x
            mask[i, :len(x)] = 1
        return {"input_ids": input_ids, "attention_mask": mask}

    def predict_proba(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Class probabilities, columns in ``self.labels`` order."""
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        order = np.argsort([len(x) for x in ids], kind="stable")
        out = np.empty((len(ids), len(self.labels)), dtype=np.float32)
        for start in range(0, len(ids), batch_size):
            idx = order[start:start + batch_size]
            logits = self._logits(self._arrays([ids[i] for i in idx]))
            z = logits - logits.max(-1, keepdims=True)
            e = np.exp(z)
            out[idx] = e / e.sum(-1, keepdims=True)
        return out

    def parameter_counts(self) -> dict[str, int]:
        """The source model's counts (the same weights, int8 where quantized)."""
        return dict(self.meta["counts"])

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text after truncation: :meth:`predict_proba` batches texts in this
        order (stable)."""
        return [len(e.ids) for e in self.tokenizer.encode_batch(list(texts))]

    def flops_per_example(self, texts: Sequence[str]) -> float:
        """Matmul FLOPs as for the source model (int8 multiply-adds counted alike)."""
        from greennlp.models.hf_format import config_from_dict

        return mean_encoder_flops(self.token_lengths(texts),
                                  config_from_dict(self.meta["hf_config"]), len(self.labels))

    def save(self, folder: Path) -> Path:
        """Copy the ONNX file and write the tokenizer and metadata to ``folder``."""
        import shutil

        meta = {**self.meta, "labels": self.labels, "family": self.family,
                "max_length": self.max_length}
        return write_folder(folder, meta, tokenizer=self.tokenizer,
                            files=lambda f: shutil.copyfile(self.path, f / MODEL_FILE),
                            reads_from=self.path.parent)

    @classmethod
    def load(cls, folder: Path) -> "OnnxClassifier":
        """Open a folder written by :meth:`save`."""
        old = (Path(folder) / OLD_META_FILE).exists() and not (Path(folder) / META_NAME).exists()
        meta, tokenizer = read_folder(folder, OLD_META_FILE if old else META_NAME)
        return cls(Path(folder) / MODEL_FILE, tokenizer, meta["labels"], meta["max_length"],
                   meta["family"], meta)
