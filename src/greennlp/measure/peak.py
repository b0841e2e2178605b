"""The machine's measured matrix-multiply peak, the yardstick for training throughput.

Model FLOPs utilisation (MFU; Chowdhery et al. 2022) is the model's training FLOPs per
token x tokens per second / the peak. Datasheet peaks are not measured on this machine
and a VM hides the CPU model, so the peak here is measured: the median rate of large
square fp32 ``torch.mm`` calls (4096 x 4096 by default, 2 n^3 FLOPs each) after a
warm-up, with the threads torch is using.
"""

from __future__ import annotations

import statistics
import time

import torch


def matmul_peak(n: int = 4096, repeats: int = 5, dtype: torch.dtype = torch.float32
                ) -> dict[str, float]:
    """Median GFLOP/s of ``n x n`` matmuls over ``repeats`` timed calls (one warm-up).

    Returns
    -------
    dict
        ``gflops_median``, ``gflops_max``, ``gflops_min``, ``n``, ``repeats``,
        ``dtype``, ``threads``.
    """
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    torch.mm(a, b)
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b)
        rates.append(2 * n ** 3 / (time.perf_counter() - t0) / 1e9)
    return {"gflops_median": statistics.median(rates), "gflops_max": max(rates),
            "gflops_min": min(rates), "n": n, "repeats": repeats,
            "dtype": str(dtype).removeprefix("torch."), "threads": torch.get_num_threads()}


def model_flops_utilisation(training_flops_per_token: float, tokens_per_s: float,
                            peak_gflops: float) -> float:
    """Fraction of the peak the training reached: FLOPs/token x tokens/s / peak.

    >>> model_flops_utilisation(6e6, 10_000, 200.0)
    0.3
    """
    return training_flops_per_token * tokens_per_s / (peak_gflops * 1e9)
