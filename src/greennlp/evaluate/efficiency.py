"""Inference efficiency: latency at batch 1, throughput at batch 32, size on disk.

Timings are end to end (raw text in, probabilities out, tokenisation included), taken
after a warm-up, repeated, and summarised by the median over repeats, since timings
on a shared machine vary by up to ~20% between runs.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

Predict = Callable[[Sequence[str], int], Any]


def folder_size_mb(folder: Path) -> float:
    """Total size of the files under ``folder`` in MB (10^6 bytes)."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file()) / 1e6


def _threads() -> int | None:
    try:
        import torch

        return torch.get_num_threads()
    except ImportError:  # pragma: no cover - torch is a dependency
        return None


def measure_speed(predict: Predict, texts: Sequence[str], *, latency_examples: int = 64,
                  throughput_batches: int = 8, repeats: int = 5, batch_size: int = 32
                  ) -> dict[str, float]:
    """Latency (ms per example at batch 1) and throughput (examples/s at ``batch_size``).

    Parameters
    ----------
    predict
        ``predict(texts, batch_size)``; its output is ignored.
    texts
        Inputs to cycle through (use dev texts: test is for quality, once).
    """
    texts = list(texts)
    single = [texts[i % len(texts)] for i in range(latency_examples)]
    bulk = [texts[i % len(texts)] for i in range(throughput_batches * batch_size)]
    for _ in range(3):  # warm-up: allocator, caches, lazy initialisation
        predict(single[:1], 1)
        predict(bulk[:batch_size], batch_size)
    per_repeat_latency, all_calls, per_repeat_tput = [], [], []
    for _ in range(repeats):
        calls = []
        for text in single:
            t0 = time.perf_counter()
            predict([text], 1)
            calls.append(time.perf_counter() - t0)
        per_repeat_latency.append(1e3 * statistics.fmean(calls))
        all_calls += calls
        t0 = time.perf_counter()
        predict(bulk, batch_size)
        per_repeat_tput.append(len(bulk) / (time.perf_counter() - t0))
    return {
        "latency_ms_b1": statistics.median(per_repeat_latency),
        "latency_ms_b1_p90": float(1e3 * np.percentile(all_calls, 90)),
        f"throughput_b{batch_size}": statistics.median(per_repeat_tput),
        "timing_repeats": repeats,
        "torch_threads": _threads(),
    }
