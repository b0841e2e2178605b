"""The early-exit compressor: exits trained jointly, calibrated, one threshold chosen on dev."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from greennlp.compress.base import Context, label_indices
from greennlp.compress.early_exit import calibrate, copy_with_exits
from greennlp.compress.finetune import run_training
from greennlp.models.classifier import EncoderClassifier
from greennlp.models.early_exit import EarlyExitClassifier, EarlyExitNet, simulate_exits


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
        last: list[list[np.ndarray]] = []  # the latest epoch's dev logits of every exit

        def dev_score() -> float:  # every exit should be good, not only the top one
            last[:] = [clf.exit_logits(dev_texts)]
            return float(np.mean([np.mean(lg.argmax(1) == dev_y) for lg in last[0]]))
        train = ctx.splits.train
        facts = run_training(text, net, self.train_cfg, train["text"].tolist(),
                             label_indices(model.labels, train["label"]), dev_score,
                             ctx.work_dir / "early-exit-ckpt", ctx.seed, "train exits")
        # Training ends on the best epoch's weights: when that was the last epoch, its dev
        # pass was made with exactly these weights.
        dev_logits = last[0] if facts["best_epoch"] == facts["epochs_run"] else \
            clf.exit_logits(dev_texts)
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
