"""Measurement overhead: greennlp's ``track()`` against codecarbon, side by side in one run.

Targets (issue: footprint): start-up under 100 ms and overhead under 1% of wall time.

* start-up: a fresh Python process imports the tracker, builds it from the default
  config and tracks an empty block; the time from the first import to the end of the
  block (interpreter start excluded). codecarbon: import, OfflineEmissionsTracker(),
  start(), stop().
* fixed cost: enter + exit of ``track()`` around an empty block, averaged over 200 calls.
* overhead: the same CPU-bound workload (fp32 matmuls) plain and tracked, alternated,
  median of repeats. On a shared 2-core VM timings move by several percent between runs,
  so the A/B difference is noisy; the fixed cost divided by the workload's duration
  is the precise bound.

Run: ``python benchmarks/measure_overhead.py [--repeats 7] [--workload-s 3]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

# The config module is loaded by every run whether it is measured or not; measurement
# start-up is what comes after it. Both figures are reported.
GREENNLP_STARTUP = """
import time
t0 = time.perf_counter()
from greennlp.config import MeasureConfig
t1 = time.perf_counter()
from greennlp.measure import Footprint, track
fp = Footprint.from_config(MeasureConfig())
with track("x", footprint=fp):
    pass
t2 = time.perf_counter()
print(t2 - t1, t2 - t0)
"""

CODECARBON_STARTUP = """
import logging, time
t0 = time.perf_counter()
from codecarbon import OfflineEmissionsTracker
tr = OfflineEmissionsTracker(country_iso_code="USA", save_to_file=False, log_level="error")
tr.start()
tr.stop()
print(time.perf_counter() - t0)
"""


def startup(code: str, repeats: int) -> list[float]:
    """Median start-up seconds over fresh processes (one figure per number printed)."""
    rows = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        rows.append([float(x) for x in out.stdout.strip().splitlines()[-1].split()])
    return [statistics.median(col) for col in zip(*rows)]


def workload(seconds: float):
    """A CPU-bound torch workload of roughly ``seconds``, calibrated once."""
    import torch

    a = torch.randn(512, 512)
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < 0.3:
        a @ a
        n += 1
    iters = int(n * seconds / 0.3)

    def run():
        for _ in range(iters):
            a @ a

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--workload-s", type=float, default=3.0)
    args = parser.parse_args()

    from codecarbon import OfflineEmissionsTracker

    from greennlp.config import MeasureConfig
    from greennlp.measure import Footprint, track

    fp = Footprint.from_config(MeasureConfig())
    t0 = time.perf_counter()
    for _ in range(200):
        with track("x", footprint=fp):
            pass
    fixed_s = (time.perf_counter() - t0) / 200

    run = workload(args.workload_s)
    run()  # warm-up
    plain, ours, theirs = [], [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        run()
        plain.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with track("w", footprint=fp):
            run()
        ours.append(time.perf_counter() - t0)
        tracker = OfflineEmissionsTracker(country_iso_code="USA", save_to_file=False,
                                          log_level="error")
        t0 = time.perf_counter()
        tracker.start()
        run()
        tracker.stop()
        theirs.append(time.perf_counter() - t0)

    base = statistics.median(plain)
    ours_startup, ours_with_config = startup(GREENNLP_STARTUP, args.repeats)
    result = {
        "startup_s": {"greennlp": ours_startup, "greennlp_including_config_import": ours_with_config,
                      "codecarbon": startup(CODECARBON_STARTUP, max(3, args.repeats // 2))[0]},
        "fixed_cost_per_track_s": fixed_s,
        "workload_s": {"plain": base, "greennlp": statistics.median(ours),
                       "codecarbon": statistics.median(theirs)},
    }
    result["overhead_pct"] = {
        "greennlp_ab": 100 * (result["workload_s"]["greennlp"] / base - 1),
        "codecarbon_ab": 100 * (result["workload_s"]["codecarbon"] / base - 1),
        "greennlp_fixed_cost_bound": 100 * fixed_s / base,
    }
    result["ratios"] = {"startup_codecarbon_over_greennlp":
                        result["startup_s"]["codecarbon"] / result["startup_s"]["greennlp"]}
    print(json.dumps(result, indent=2))
    su, ov = result["startup_s"], result["overhead_pct"]
    print(f"\nstart-up: greennlp {su['greennlp'] * 1e3:.0f} ms (target < 100 ms; "
          f"{su['greennlp_including_config_import'] * 1e3:.0f} ms with the config import), "
          f"codecarbon {su['codecarbon'] * 1e3:.0f} ms "
          f"({result['ratios']['startup_codecarbon_over_greennlp']:.0f}x)")
    print(f"fixed cost per tracked stage: {fixed_s * 1e3:.2f} ms = {ov['greennlp_fixed_cost_bound']:.3f}% "
          f"of a {base:.1f} s stage (target < 1%)")
    print(f"A/B on a {base:.1f} s workload: greennlp {ov['greennlp_ab']:+.2f}%, codecarbon "
          f"{ov['codecarbon_ab']:+.2f}% (noise on this machine is a few %)")


if __name__ == "__main__":
    main()
