"""Evaluate a compressed variant like any model, plus what compression adds: energy and
money per 1M examples, and fidelity to the model it came from.

Energy per 1M examples is measured by running batches of 32 inside
:func:`greennlp.measure.track`, with energy backends built from the run's measure
settings, and dividing by the examples processed. Where the backends estimate (no RAPL here: CPU-seconds x watts per
thread), the figure is that estimate, and the record keeps the method with it.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np

from greennlp.files import atomic_folder
from greennlp.measure import Footprint, track
from greennlp.record import Fidelity, ModelResult, PairedTiming, VariantInfo
from greennlp.run import Run

Predict = Callable[[Sequence[str], int], Any]


def inference_cost(predict: Predict, texts: Sequence[str], measure_cfg: Any | None, *,
                   batch_size: int = 32, min_seconds: float = 2.0, max_rounds: int = 50
                   ) -> dict[str, Any]:
    """Energy, CO2e and money per 1M examples at ``batch_size``, from one timed block.

    The block repeats rounds of ``8 x batch_size`` examples until ``min_seconds`` have
    passed, so that CPU-time based estimates are not dominated by timer resolution.
    Its energy backends are built here from ``measure_cfg`` (a
    :class:`greennlp.config.MeasureConfig`): backends keep their start readings, so
    sharing the stage's own would cut the enclosing stage's measurement short.
    Measurement never raises: a failure is returned as ``None`` with the reason.
    """
    texts = list(texts)
    bulk = [texts[i % len(texts)] for i in range(8 * batch_size)]
    try:
        footprint = None if measure_cfg is None else Footprint.from_config(measure_cfg)
        predict(bulk[:batch_size], batch_size)  # warm-up
        n = 0
        with track("inference-cost", footprint=footprint) as st:
            t0 = time.perf_counter()
            for _ in range(max_rounds):
                predict(bulk, batch_size)
                n += len(bulk)
                if time.perf_counter() - t0 >= min_seconds:
                    break
    except Exception as exc:  # measurement never crashes a run
        return {"energy_kwh_per_1m": None, "energy_error": f"{type(exc).__name__}: {exc}"}
    scale = 1e6 / n
    return {
        "energy_kwh_per_1m": None if st.energy_kwh is None else st.energy_kwh * scale,
        "co2_kg_per_1m": None if st.co2_kg is None else st.co2_kg * scale,
        "cost_usd_per_1m": None if st.cost_usd is None else st.cost_usd * scale,
        "hours_per_1m": st.duration_s * scale / 3600.0,
        "energy_method": st.energy_method, "energy_examples": n,
        "energy_batch_size": batch_size,
    }


def paired_speedup(reference: Predict, variant: Predict, texts: Sequence[str], *,
                   rounds: int = 3, batch_examples: int = 64, single_examples: int = 8
                   ) -> dict[str, float]:
    """Speed-up of ``variant`` over ``reference``, timed side by side.

    Each round times both, one after the other, at batch 32 and at batch 1; the result
    is the median of the per-round ratios. Timings taken minutes apart on a shared
    machine differ by more than many speed-ups (load from other processes comes and
    goes), so the ratio is only trusted from alternated measurements.
    """
    texts = list(texts)
    bulk = [texts[i % len(texts)] for i in range(batch_examples)]
    single = bulk[:single_examples]

    def timed(predict: Predict, batch: list[str], size: int) -> float:
        t0 = time.perf_counter()
        for start in range(0, len(batch), size):
            predict(batch[start:start + size], size)
        return time.perf_counter() - t0

    for predict in (reference, variant):  # warm-up
        timed(predict, bulk[:32], 32)
    tput, lat = [], []
    for _ in range(rounds):
        tput.append(timed(reference, bulk, 32) / timed(variant, bulk, 32))
        lat.append(timed(reference, single, 1) / timed(variant, single, 1))
    return {"throughput_speedup": float(np.median(tput)), "latency_speedup": float(np.median(lat)),
            "rounds": rounds}


def fidelity(reference: np.ndarray, variant: np.ndarray) -> dict[str, float]:
    """How closely a variant's probabilities follow its source model's (same examples).

    >>> fidelity(np.array([[0.9, 0.1], [0.4, 0.6]]), np.array([[0.8, 0.2], [0.6, 0.4]]))
    {'agreement': 0.5, 'max_abs_diff': 0.2, 'mean_abs_diff': 0.15}
    """
    reference, variant = np.asarray(reference, float), np.asarray(variant, float)
    diff = np.abs(reference - variant)
    return {"agreement": float(np.mean(reference.argmax(1) == variant.argmax(1))),
            "max_abs_diff": round(float(diff.max()), 9),
            "mean_abs_diff": round(float(diff.max(1).mean()), 9)}


def variant_info(facts: dict[str, Any]) -> VariantInfo:
    """A variant's record entry from its compressor's description."""
    return VariantInfo(method=facts.get("method", ""),
                       facts={k: v for k, v in facts.items() if k != "method"})


def evaluate_variant(run: Run, name: str, variant, parent: str, compression: dict[str, Any],
                     parent_dev_proba: np.ndarray | None = None,
                     root: tuple[str, Any] | None = None) -> ModelResult:
    """Score and time ``variant`` like any model (the task's ``evaluate``: test once,
    through the run's gate), then what compression adds: its price per 1M examples, its
    speed-up timed side by side with its dense root, its fidelity to its parent.

    Parameters
    ----------
    run
        The run in progress.
    name
        The variant's model name, e.g. ``minilm+int8-onnx``.
    variant
        A :class:`~greennlp.compress.base.CompressedModel`, saved under
        ``models/<name>/final``.
    parent
        The model it was made from (a name in the record).
    compression
        The compressor's description, stored on the result.
    parent_dev_proba
        The parent's dev probabilities, for the fidelity check.
    root
        ``(name, model)`` of the dense model the variant descends from, to time the two
        side by side (:func:`paired_speedup`).
    """
    ecfg, splits = run.cfg.evaluate, run.splits
    folder = run.run_dir / "models" / name / "final"
    if not folder.exists():
        with atomic_folder(folder) as tmp:  # a half-saved folder is never reused
            variant.save(tmp)
    dev_texts = splits.dev["text"].tolist()
    counts = variant.parameter_counts()
    result = ModelResult(
        name=name, family=variant.family, params_total=counts["total"],
        params_non_embedding=counts["non_embedding"],
        flops_per_example=variant.flops_per_example(dev_texts),
        flops_note="forward, matmul FLOPs (2 per multiply-add), mean over dev examples at their "
                   "real lengths; pruned zeros and int8 products counted like fp32 ones",
        labels=list(variant.labels), checkpoint=str(folder),
        stages=[f"compress:{name}", f"evaluate:{name}"], variant_of=parent,
        compression=variant_info(compression))
    dev, _ = run.task.evaluate(run, result, variant)
    result.efficiency.update(inference_cost(variant.predict_proba, dev_texts, run.cfg.measure,
                                            min_seconds=run.cfg.compress.energy_seconds))
    if root is not None:
        paired = paired_speedup(root[1].predict_proba, variant.predict_proba, dev_texts,
                                rounds=max(3, ecfg.repeats))
        result.compression.paired_timing = PairedTiming(reference=root[0], **paired)
    if parent_dev_proba is not None:
        result.compression.fidelity_dev = Fidelity(**fidelity(parent_dev_proba, dev["proba"]))
    return result
