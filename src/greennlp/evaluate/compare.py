"""Paired comparisons of models on the same test set: within a run and across two runs."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from greennlp.errors import UserError
from greennlp.evaluate.significance import compare_predictions
from greennlp.record import ModelResult, RunRecord


def test_predictions(record: RunRecord, model: ModelResult) -> tuple[np.ndarray, np.ndarray]:
    """(true, predicted) label names of a model on its run's test split."""
    folder = Path(record.run_dir)
    proba_path = folder / "models" / model.name / "test_proba.npy"
    if not proba_path.exists():
        raise UserError(f"Run {record.run_id} has no saved test predictions for {model.name}; "
                        f"re-run it with this version of greennlp.")
    test = pd.read_parquet(folder / "data" / "test.parquet")
    pred = np.asarray(model.labels)[np.load(proba_path).argmax(1)]
    return test["label"].to_numpy(), pred


def test_fingerprint(record: RunRecord) -> str:
    """SHA-256 of the test texts and labels, to check two runs share a test set."""
    test = pd.read_parquet(Path(record.run_dir) / "data" / "test.parquet")
    digest = hashlib.sha256()
    for text, label in zip(test["text"], test["label"]):
        digest.update(f"{text}\t{label}\n".encode())
    return digest.hexdigest()


def compare_models(record_a: RunRecord, a: ModelResult, record_b: RunRecord, b: ModelResult,
                   *, n_samples: int = 2000, seed: int = 0) -> dict[str, Any]:
    """McNemar and paired bootstrap between model ``a`` and model ``b``."""
    true_a, pred_a = test_predictions(record_a, a)
    true_b, pred_b = test_predictions(record_b, b)
    if len(true_a) != len(true_b) or not np.array_equal(true_a, true_b):
        raise UserError("The two models were tested on different test sets; compare runs with "
                        "the same data and split settings.")
    result = compare_predictions(true_a, pred_a, pred_b, n_samples=n_samples, seed=seed)
    return {"a": a.name, "b": b.name, "run_a": record_a.run_id, "run_b": record_b.run_id, **result}


def within_run(record: RunRecord, n_samples: int = 2000) -> list[dict[str, Any]]:
    """The model selected on dev against every other model of the run."""
    best = record.select()
    return [compare_models(record, best, record, other, n_samples=n_samples)
            for other in record.models if best and other.name != best.name and other.test]


def _pick(record: RunRecord, name: str | None) -> ModelResult:
    if name is None:
        model = record.select()
        if model is None:
            raise UserError(f"Run {record.run_id} has no evaluated model to compare.")
        return model
    model = record.model(name)
    if model is None:
        raise UserError(f"Run {record.run_id} has no model '{name}'; it has "
                        f"{', '.join(m.name for m in record.models) or 'none'}.")
    return model


def compare_runs(record_a: RunRecord, record_b: RunRecord, model_a: str | None = None,
                 model_b: str | None = None, n_samples: int = 2000) -> dict[str, Any]:
    """Compare a model of run A with a model of run B (default: each run's best on dev)."""
    if test_fingerprint(record_a) != test_fingerprint(record_b):
        raise UserError(f"Runs {record_a.run_id} and {record_b.run_id} have different test sets; "
                        f"a paired comparison needs the same test examples.")
    return compare_models(record_a, _pick(record_a, model_a), record_b, _pick(record_b, model_b),
                          n_samples=n_samples)
