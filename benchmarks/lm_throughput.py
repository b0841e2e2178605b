"""GPT decoder training throughput against this machine's measured matmul peak.

Alternates, in one process, a matmul-peak measurement (fp32 ``torch.mm`` 4096^2, median
of repeats) and a timed block of training steps of the decoder (AdamW, the shared
loop's settings), so both see the same neighbours on a shared machine; reports the
median of each and model FLOPs utilisation = training FLOPs per token x tokens/s /
peak. Widths other than the default show how utilisation grows with matmul size.

Run: ``OMP_WAIT_POLICY=PASSIVE python benchmarks/lm_throughput.py [--rounds 5] [--steps 10]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from greennlp.config.lm import LmConfig
from greennlp.measure.peak import matmul_peak
from greennlp.models import family
from greennlp.models.lm_accounting import lm_accounting
from greennlp.models.neural_lm import build_module


def train_rate(spec: dict, batch_size: int, steps: int) -> float:
    """Tokens per second over ``steps`` training steps (after two warm-up steps)."""
    torch.manual_seed(0)
    model = build_module("decoder", spec).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
    ctx = spec["context_length"]
    data = torch.randint(0, spec["vocab_size"], (steps + 2, batch_size, ctx + 1))
    t0 = 0.0
    for i, rows in enumerate(data):
        if i == 2:
            t0 = time.perf_counter()
        loss = model(rows[:, :-1], labels=rows[:, 1:]).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    return steps * batch_size * ctx / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--widths", type=int, nargs="*", default=[128, 256, 512])
    args = parser.parse_args()
    lm = LmConfig()
    base = family("gpt").spec(lm, lm.vocab_size, 1)
    specs = {w: dict(base, d_model=w, d_ff=4 * w, num_heads=max(1, w // 32)) for w in args.widths}
    peaks, rates = [], {w: [] for w in specs}
    for _ in range(args.rounds):
        peaks.append(matmul_peak()["gflops_median"])
        for w, spec in specs.items():
            rates[w].append(train_rate(spec, lm.gpt.train.batch_size, args.steps))
    peak = statistics.median(peaks)
    rows = []
    for w, spec in specs.items():
        acc = lm_accounting("decoder", spec, spec["context_length"])
        tokens_per_s = statistics.median(rates[w])
        rows.append({"d_model": w, "params": acc["params_total"],
                     "training_flops_per_token": acc["training_flops_per_token"],
                     "tokens_per_s": round(tokens_per_s), "gflops": round(
                         acc["training_flops_per_token"] * tokens_per_s / 1e9, 1),
                     "mfu": round(acc["training_flops_per_token"] * tokens_per_s / (peak * 1e9), 3),
                     "default": w == lm.gpt.d_model})
    print(json.dumps({"matmul_peak_gflops_median": round(peak, 1), "peaks": [round(p) for p in peaks],
                      "threads": torch.get_num_threads(), "rounds": args.rounds, "models": rows},
                     indent=2))


if __name__ == "__main__":
    main()
