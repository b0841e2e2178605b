"""Beyond accuracy, for every model and compressed variant: ``analyze:<model>`` stages.

Each stage reads the model's saved dev and test probabilities (no new pass over test for
calibration, selective prediction and slices) and computes, with the pure functions of
:mod:`greennlp.evaluate`: calibration before and after a temperature fitted on dev,
the risk-coverage curve with a dev-chosen threshold, slices and group fairness, and
robustness to seeded perturbations. The perturbed test texts are new inputs, so they go
through the test gate once per model (``audit:robustness:<model>``), in one batch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from greennlp.evaluate.calibration import calibration_report
from greennlp.evaluate.robustness import perturbed_inputs, robustness_report, sample
from greennlp.evaluate.selective import selective_report
from greennlp.evaluate.slices import automatic_slices, group_fairness, slice_report
from greennlp.record import ModelResult, StageResult, to_json
from greennlp.run import Run


def _indices(labels: list[str], values) -> np.ndarray:
    pos = {lab: i for i, lab in enumerate(labels)}
    return np.array([pos.get(v, -1) for v in values], dtype=np.int64)


def _column(run: Run, frame, name: str) -> list[Any] | None:
    """A named column of a split; the group column is stored as ``group``."""
    if name in frame.columns:
        return frame[name].tolist()
    if name == run.record.data.get("columns", {}).get("group") and "group" in frame.columns:
        return frame["group"].tolist()
    return None


def _robustness(run: Run, m: ModelResult, true: np.ndarray, pred: np.ndarray
                ) -> dict[str, Any] | None:
    ecfg, model = run.cfg.evaluate, run.models.get(m.name)
    if model is None or not ecfg.robustness_examples or not ecfg.perturbations:
        return None
    idx = sample(len(true), ecfg.robustness_examples, run.cfg.seed)

    def on_test(test) -> tuple[list[str], np.ndarray, dict[str, np.ndarray]]:
        texts = test["text"].iloc[idx].tolist()
        batch, where = perturbed_inputs(texts, ecfg.perturbations, ecfg.perturbation_rate,
                                        run.cfg.seed)
        proba = model.predict_proba(batch, 32) if batch else np.zeros((0, len(m.labels)))
        return texts, np.asarray(proba), where
    texts, proba, where = run.test_pass(f"audit:robustness:{m.name}", on_test)
    return robustness_report(texts, true[idx], pred[idx], proba.argmax(1), where, m.labels,
                             ecfg.perturbation_rate, run.cfg.seed)


def analyze(run: Run, m: ModelResult) -> dict[str, Any]:
    """Everything beyond accuracy for one model, from its saved probabilities."""
    ecfg, splits = run.cfg.evaluate, run.splits
    folder = Path(m.checkpoint).parent
    test_proba = np.load(folder / "test_proba.npy")
    dev_path = folder / "dev_proba.npy"
    dev_proba = np.load(dev_path) if dev_path.exists() else None
    true = _indices(m.labels, splits.test["label"])
    dev_true = _indices(m.labels, splits.dev["label"])
    pred = test_proba.argmax(1)
    boot = {"n_samples": ecfg.bootstrap_samples, "confidence": ecfg.confidence,
            "seed": run.cfg.seed}
    columns = {c: v for c in dict.fromkeys(ecfg.slice_columns + ecfg.sensitive_columns)
               if (v := _column(run, splits.test, c))}
    group = run.record.data.get("columns", {}).get("group")
    if group and group not in columns and "group" in splits.test.columns:
        columns[group] = splits.test["group"].tolist()
    slices = automatic_slices(splits.test["text"].tolist(), splits.train["text"].tolist(),
                              splits.test["label"].tolist(), columns,
                              splits.test["language"].tolist() if "language" in splits.test
                              else None)
    out: dict[str, Any] = {
        "calibration": calibration_report(dev_proba, dev_true, test_proba, true,
                                          bins=ecfg.calibration_bins, **boot),
        "selective": selective_report(dev_proba, dev_true, test_proba, true,
                                      ecfg.target_accuracy),
        "slices": slice_report(true, pred, m.labels, slices, confidence=ecfg.confidence),
        "fairness": {c: group_fairness(true, pred, v, m.labels) for c in ecfg.sensitive_columns
                     if (v := _column(run, splits.test, c))},
    }
    robust = _robustness(run, m, true, pred)
    if robust is not None:
        out["robustness"] = robust
    return to_json(out)


def headline(analysis: dict[str, Any]) -> dict[str, float | None]:
    """The few numbers a stage's metrics and the console line carry."""
    cal, sel = analysis["calibration"], analysis["selective"]
    worst = analysis["slices"].get("worst") or {}
    flips = [p["flip_rate"] for p in analysis.get("robustness", {}).get("perturbations", {})
             .values() if p["flip_rate"] is not None]
    return {"ece": cal["test"]["ece"]["value"],
            "ece_scaled": cal.get("test_scaled", {}).get("ece", {}).get("value"),
            "temperature": cal.get("temperature"), "aurc": sel["aurc"],
            "worst_slice_accuracy": worst.get("accuracy"),
            "mean_flip_rate": float(np.mean(flips)) if flips else None}


def stage_analysis(run: Run) -> None:
    """An ``analyze:<model>`` stage for every model and variant with saved test predictions."""
    for m in list(run.record.models):
        if not m.test or not m.checkpoint or \
                not (Path(m.checkpoint).parent / "test_proba.npy").exists():
            continue

        def work(st: StageResult, m: ModelResult = m) -> None:
            m.analysis = analyze(run, m)
            st.metrics = headline(m.analysis)
            h, worst = st.metrics, m.analysis["slices"].get("worst") or {}
            run.log(f"{m.name}: ECE {h['ece']:.3f}"
                    + (f" ({h['ece_scaled']:.3f} at T={h['temperature']:.2f})"
                       if h["ece_scaled"] is not None else "")
                    + f", AURC {h['aurc']:.3f}, worst slice "
                    + (f"{worst['family']}={worst['slice']} {worst['accuracy']:.3f}"
                       if worst else "none")
                    + (f", mean flip rate {h['mean_flip_rate']:.3f}"
                       if h["mean_flip_rate"] is not None else ""))
        run.stage(f"analyze:{m.name}", work)
