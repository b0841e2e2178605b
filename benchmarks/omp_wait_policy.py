"""OpenMP idle threads spinning (ACTIVE) or sleeping (PASSIVE): training step time.

``greennlp run task=lm`` sets ``OMP_WAIT_POLICY=PASSIVE`` unless the user set it. This
measures why: the same small-decoder training steps in fresh processes, one per setting,
alternated over rounds (the policy is read once, when torch loads), with 2 threads;
medians and their ratio. On a quiet machine the difference is small; when other jobs
share the cores, spinning threads hold the cores the working threads need.

Run: ``python benchmarks/omp_wait_policy.py [--rounds 5]`` (run it both on a quiet
machine and next to a CPU-heavy job).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

STEP = """
import time, torch
from greennlp.models.neural_lm import build_module
torch.set_num_threads({threads})
spec = dict(vocab_size=4096, context_length=64, d_model={width}, num_layers=4, num_heads=4,
            d_ff={ff}, dropout=0.1)
model = build_module("decoder", spec)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
x = torch.randint(0, 4096, (12, 32, 65))
times = []
for rows in x:
    t0 = time.perf_counter()
    model(rows[:, :-1], labels=rows[:, 1:]).loss.backward()
    opt.step(); opt.zero_grad()
    times.append(time.perf_counter() - t0)
print(sorted(times[2:])[len(times[2:]) // 2])
"""


def step_s(policy: str, threads: int, width: int) -> float:
    env = dict(os.environ, OMP_WAIT_POLICY=policy)
    out = subprocess.run([sys.executable, "-c", STEP.format(threads=threads, width=width,
                                                            ff=4 * width)],
                         capture_output=True, text=True, env=env, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--width", type=int, default=128)
    args = parser.parse_args()
    times = {"ACTIVE": [], "PASSIVE": []}
    for _ in range(args.rounds):
        for policy in times:
            times[policy].append(step_s(policy, args.threads, args.width))
    med = {p: statistics.median(v) for p, v in times.items()}
    print(json.dumps({"median_step_ms": {p: round(1e3 * v, 1) for p, v in med.items()},
                      "active_over_passive": round(med["ACTIVE"] / med["PASSIVE"], 2),
                      "all_ms": {p: [round(1e3 * v, 1) for v in vs] for p, vs in times.items()},
                      "threads": args.threads, "d_model": args.width,
                      "load_average_1min": os.getloadavg()[0]}, indent=2))


if __name__ == "__main__":
    main()
