"""The early-exit curve: accuracy against speed as the confidence threshold moves.

Accuracies and mean exit depths come from one pass that computes every exit (dev, and
test once), simulated per threshold; latency at batch 1 and throughput at batch 32 are
measured on dev texts with real early exiting at each threshold.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from greennlp.compress.base import label_indices
from greennlp.compress.exit_classifier import accuracy_curve
from greennlp.evaluate.efficiency import measure_speed
from greennlp.models.early_exit import EarlyExitClassifier
from greennlp.record import ExitPoint
from greennlp.run import Run


def early_exit_curve(run: Run, name: str, variant: EarlyExitClassifier,
                     facts: dict[str, Any]) -> list[ExitPoint]:
    """One row per threshold: dev and test accuracy, mean exit layer, measured speed.

    Spends one test pass (every exit on test), through the run's gate, as an audit.
    """
    thresholds = [row["threshold"] for row in facts["dev_curve"]]

    def on_test(test) -> list[dict]:
        test_y = np.array(label_indices(variant.labels, test["label"]))
        return accuracy_curve(variant.exit_logits(test["text"].tolist()), test_y, variant.net,
                              thresholds)
    test_rows = run.test_pass(f"audit:exit-curve:{name}", on_test)
    dev_texts = run.splits.dev["text"].tolist()
    ecfg = run.cfg.evaluate
    rows = []
    for dev_row, test_row in zip(facts["dev_curve"], test_rows):
        speed = measure_speed(variant.with_threshold(dev_row["threshold"]).predict_proba, dev_texts,
                              latency_examples=max(4, ecfg.latency_examples // 2),
                              throughput_batches=max(1, ecfg.throughput_batches // 2), repeats=1)
        rows.append(ExitPoint(threshold=dev_row["threshold"], dev_accuracy=dev_row["accuracy"],
                              dev_mean_exit_layer=dev_row["mean_exit_layer"],
                              test_accuracy=test_row["accuracy"],
                              test_mean_exit_layer=test_row["mean_exit_layer"],
                              test_exit_share=test_row["exit_share"],
                              latency_ms_b1=speed["latency_ms_b1"],
                              throughput_b32=speed["throughput_b32"],
                              chosen=dev_row["threshold"] == variant.threshold))
    return rows
