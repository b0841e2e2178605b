"""The early-exit curve: accuracy against speed as the confidence threshold moves.

Accuracies and mean exit depths come from one pass that computes every exit (dev, and
test once), simulated per threshold; latency at batch 1 and throughput at batch 32 are
measured on dev texts with real early exiting at each threshold.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from greennlp.compress.base import label_indices
from greennlp.compress.exit_classifier import EarlyExitClassifier, accuracy_curve
from greennlp.record import RunRecord


def count_audit_test_evaluations(record: RunRecord, n: int) -> None:
    """Count test passes beyond the one per final model (curves, audit populations), in
    ``record.test_evaluations`` and, separately, in ``record.compression``."""
    record.test_evaluations += n
    record.compression["audit_test_evaluations"] = (
        record.compression.get("audit_test_evaluations", 0) + n)


def early_exit_curve(run, variant: EarlyExitClassifier, facts: dict[str, Any]) -> list[dict]:
    """One row per threshold: dev and test accuracy, mean exit layer, measured speed.

    Spends one test evaluation (the all-exits pass on test), counted in the record.
    """
    from greennlp.evaluate.efficiency import measure_speed

    test = run.splits.test
    test_y = np.array(label_indices(variant.labels, test["label"]))
    thresholds = [row["threshold"] for row in facts["dev_curve"]]
    test_rows = accuracy_curve(variant.exit_logits(test["text"].tolist()), test_y, variant.net,
                               thresholds)
    count_audit_test_evaluations(run.record, 1)
    dev_texts = run.splits.dev["text"].tolist()
    ecfg = run.cfg.evaluate
    rows = []
    for dev_row, test_row in zip(facts["dev_curve"], test_rows):
        speed = measure_speed(variant.with_threshold(dev_row["threshold"]).predict_proba, dev_texts,
                              latency_examples=max(4, ecfg.latency_examples // 2),
                              throughput_batches=max(1, ecfg.throughput_batches // 2), repeats=1)
        rows.append({"threshold": dev_row["threshold"], "dev_accuracy": dev_row["accuracy"],
                     "dev_mean_exit_layer": dev_row["mean_exit_layer"],
                     "test_accuracy": test_row["accuracy"],
                     "test_mean_exit_layer": test_row["mean_exit_layer"],
                     "test_exit_share": test_row["exit_share"],
                     "latency_ms_b1": speed["latency_ms_b1"],
                     "throughput_b32": speed["throughput_b32"],
                     "chosen": dev_row["threshold"] == variant.threshold})
    return rows
