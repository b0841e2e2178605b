"""The early-exit compressor and the classifier it returns (one threshold at a time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from greennlp.compress.base import Context, label_indices, read_folder, write_folder
from greennlp.compress.early_exit import EarlyExitNet, calibrate, copy_with_exits, simulate_exits
from greennlp.compress.finetune import run_training
from greennlp.models.accounting import count_parameters, encoder_forward_flops
from greennlp.models.classifier import EncoderClassifier, build_from_hf_config


class EarlyExitClassifier:
    """Tokenizer + :class:`EarlyExitNet` + an exit threshold.

    ``last_depths_`` holds the exit depth of each example of the last prediction call.
    """

    def __init__(self, net: EarlyExitNet, text: EncoderClassifier, threshold: float) -> None:
        self.net, self.text, self.threshold = net.eval(), text, threshold
        self.labels, self.family = list(text.labels), text.family
        self.last_depths_ = np.zeros(0, dtype=int)

    def with_threshold(self, threshold: float) -> "EarlyExitClassifier":
        """The same network at another threshold."""
        return EarlyExitClassifier(self.net, self.text, threshold)

    @torch.inference_mode()
    def predict_proba(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Calibrated probabilities; examples leave the batch at their exit."""
        ids = self.text.encode(texts)
        order = np.argsort([len(x) for x in ids], kind="stable")
        out = np.empty((len(ids), len(self.labels)), dtype=np.float32)
        depths = np.empty(len(ids), dtype=int)
        for start, batch in zip(range(0, len(ids), batch_size),
                                self.text.batches(ids, batch_size, order=order)):
            idx = order[start:start + batch_size]
            proba, depth = self.net.exit_forward(batch["input_ids"], batch["attention_mask"],
                                                 self.threshold)
            out[idx], depths[idx] = proba.numpy(), depth.numpy()
        self.last_depths_ = depths
        return out

    @torch.inference_mode()
    def exit_logits(self, texts: Sequence[str], batch_size: int = 64) -> list[np.ndarray]:
        """Uncalibrated logits of every exit for ``texts`` (one full pass)."""
        self.net.eval()
        ids = self.text.encode(texts)
        parts = [[] for _ in self.net.depths]
        for batch in self.text.batches(ids, batch_size):
            for part, lg in zip(parts, self.net.all_logits(batch["input_ids"],
                                                           batch["attention_mask"])):
                part.append(lg.float().numpy())
        return [np.concatenate(p) for p in parts]

    def parameter_counts(self) -> dict[str, int]:
        return count_parameters(self.net)

    def flops_per_example(self, texts: Sequence[str]) -> float:
        """Mean matmul FLOPs at each example's real exit depth and length."""
        self.predict_proba(texts, 64)
        cfg, n_cls = self.net.base.config, len(self.labels)
        head = 2 * cfg.hidden_size * cfg.hidden_size + 2 * cfg.hidden_size * n_cls
        lengths = [len(x) for x in self.text.encode(texts)]
        total = 0.0
        for length, depth in zip(lengths, self.last_depths_):
            passed = sum(1 for d in self.net.exit_layers if d < depth)  # heads that said no
            total += encoder_forward_flops(length, hidden=cfg.hidden_size, layers=int(depth),
                                           intermediate=cfg.intermediate_size,
                                           num_labels=n_cls) + passed * head
        return total / max(1, len(lengths))

    def describe(self) -> dict[str, Any]:
        return {**self.text.describe(), "exit_layers": self.net.exit_layers,
                "threshold": self.threshold}

    def save(self, folder: Path) -> Path:
        """Weights (exits and temperatures included), tokenizer and config."""
        state = {k: v.detach().contiguous().cpu() for k, v in self.net.state_dict().items()}
        return write_folder(folder, self.text.tokenizer, self.describe(),
                            lambda f: save_file(state, str(f / "model.safetensors")))

    @classmethod
    def load(cls, folder: Path) -> "EarlyExitClassifier":
        meta, tokenizer = read_folder(folder)
        net = EarlyExitNet(build_from_hf_config(meta["hf_config"]), meta["exit_layers"])
        net.load_state_dict(load_file(str(Path(folder) / "model.safetensors")))
        text = EncoderClassifier(net.base, tokenizer, meta["labels"], meta["max_length"],
                                 meta["family"])
        return cls(net.eval(), text, meta["threshold"])


def accuracy_curve(logits: list[np.ndarray], labels: np.ndarray, net: EarlyExitNet,
                   thresholds: Sequence[float]) -> list[dict[str, float]]:
    """Accuracy and mean exit depth per threshold, simulated from all exits' logits."""
    temps = net.temperatures.tolist()
    rows = []
    for t in thresholds:
        proba, depth = simulate_exits(logits, temps, net.depths, t)
        rows.append({"threshold": float(t), "accuracy": float(np.mean(proba.argmax(1) == labels)),
                     "mean_exit_layer": float(depth.mean()),
                     "layer_fraction": float(depth.mean() / net.depths[-1]),
                     "exit_share": {str(d): float(np.mean(depth == d)) for d in net.depths}})
    return rows


def pick_threshold(curve: list[dict[str, float]], tolerance: float) -> float:
    """The threshold with the fewest mean layers whose accuracy is within ``tolerance``
    (a fraction, e.g. 0.01) of the full model's (threshold 1.0) on the same split."""
    full = next(r["accuracy"] for r in curve if r["threshold"] >= 1.0)
    ok = [r for r in curve if r["accuracy"] >= full - tolerance]
    return min(ok, key=lambda r: (r["mean_exit_layer"], -r["threshold"]))["threshold"]


class EarlyExit:
    """Compressor: add exits, train them jointly with the model, calibrate, pick a threshold.

    Parameters
    ----------
    train_cfg
        Joint fine-tuning settings (a :class:`greennlp.config.TrainConfig`).
    exit_layers
        Layers (1-based) followed by an exit; empty: after every layer below the top.
    thresholds
        The sweep; 1.0 (the full model) is always added.
    tolerance
        Dev accuracy the chosen threshold may lose against the full model (fraction).
    """

    name = "early-exit"

    def __init__(self, train_cfg, exit_layers: Sequence[int] = (),
                 thresholds: Sequence[float] = (0.6, 0.7, 0.8, 0.9, 0.95, 0.99),
                 tolerance: float = 0.01) -> None:
        self.train_cfg, self.exit_layers, self.tolerance = train_cfg, list(exit_layers), tolerance
        self.thresholds = sorted(set(float(t) for t in thresholds) | {1.0})
        self.facts_: dict[str, Any] = {}

    def compress(self, model: EncoderClassifier, ctx: Context) -> EarlyExitClassifier:
        net = copy_with_exits(model.model, self.exit_layers)
        text = EncoderClassifier(net.base, model.tokenizer, model.labels, model.max_length,
                                 model.family)
        clf = EarlyExitClassifier(net, text, 1.0)
        dev_texts, dev_y = ctx.splits.dev["text"].tolist(), ctx.dev_labels(model.labels)

        def dev_score() -> float:  # every exit should be good, not only the top one
            return float(np.mean([np.mean(lg.argmax(1) == dev_y)
                                  for lg in clf.exit_logits(dev_texts)]))
        train = ctx.splits.train
        facts = run_training(text, net, self.train_cfg, train["text"].tolist(),
                             label_indices(model.labels, train["label"]), dev_score,
                             ctx.work_dir / "early-exit-ckpt", ctx.seed, "train exits")
        dev_logits = clf.exit_logits(dev_texts)
        calibration = calibrate(net, dev_logits, dev_y)
        curve = accuracy_curve(dev_logits, dev_y, net, self.thresholds)
        chosen = pick_threshold(curve, self.tolerance)
        self.facts_ = {"exit_layers": net.exit_layers, "depth": net.depths[-1],
                       "calibration": calibration, "dev_curve": curve, "threshold": chosen,
                       "training": facts}
        return clf.with_threshold(chosen)

    def describe(self) -> dict[str, Any]:
        return {"method": "early_exit", "thresholds": self.thresholds,
                "tolerance": self.tolerance, "loss": "mean of exit losses weighted by depth",
                **self.facts_}
