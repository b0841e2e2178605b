"""GreenNLPCallback against the Trainer's own codecarbon integration, on the same tiny run.

Three variants of one ``Trainer.train()`` (a 2-layer BERT with hidden size 32, 1 epoch of
``--steps`` optimizer steps at batch 8, one evaluation at the end), alternated over
``--rounds`` rounds in one process; medians are reported:

* ``plain``: ``report_to=[]``, no callback (the baseline);
* ``greennlp``: ``callbacks=[GreenNLPCallback(...)]`` (a stage per epoch and evaluation);
  ``greennlp_reports``: the same with ``reports=True`` (writes report.html and the cards
  when training ends);
* ``codecarbon``: ``report_to=["codecarbon"]`` (transformers' CodeCarbonCallback: one
  ``EmissionsTracker`` from Trainer construction to the end of training).

Measured per variant: Trainer construction (codecarbon builds its tracker there), the time
from ``train()`` to the first step, the median step (from one ``on_step_begin`` to the
next, read by a probe callback placed last), the time from the last step to the return of
``train()`` and the whole. Since steps on a shared 2-core machine vary by far more than a
callback costs, the time spent inside the callbacks' events is also summed (per step,
``on_train_begin``, ``on_train_end``, epoch and evaluation events): against ``plain``, that
is what each integration adds. Every run is a fresh process (as a user's script is), so each
tool's first-use costs count (codecarbon detects the hardware then). Then each callback's
own per-step cost, called directly, and what each one reports.

Run: ``python benchmarks/trainer_callback.py [--steps 60] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from transformers import (BertConfig, BertForSequenceClassification, Trainer,  # noqa: E402
                          TrainerCallback, TrainingArguments)
from transformers.utils import logging as hf_logging  # noqa: E402

from greennlp.integrations.hf import GreenNLPCallback  # noqa: E402

SEQ, BATCH = 32, 8


class Probe(TrainerCallback):
    """Timestamps of every step start and of the last step end."""

    def __init__(self) -> None:
        self.begins: list[float] = []
        self.last_end = 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        self.begins.append(time.perf_counter())

    def on_step_end(self, args, state, control, **kwargs):
        self.last_end = time.perf_counter()


PER_STEP = ("on_step_begin", "on_step_end", "on_substep_end", "on_pre_optimizer_step",
            "on_optimizer_step", "on_log")


def time_hooks(trainer: Trainer) -> dict[str, float]:
    """Time spent in the callbacks' events, summed: per-step events, ``on_train_begin``,
    ``on_train_end``, and the epoch / evaluation events. What a callback adds, free of
    the noise of the steps themselves."""
    handler, total = trainer.callback_handler, {"step": 0.0, "begin": 0.0, "end": 0.0, "other": 0.0}
    call = handler.call_event

    def timed(event, args, state, control, **kwargs):
        kind = ("step" if event in PER_STEP else "begin" if event == "on_train_begin"
                else "end" if event == "on_train_end" else "other")
        t = time.perf_counter()
        try:
            return call(event, args, state, control, **kwargs)
        finally:
            total[kind] += time.perf_counter() - t
    handler.call_event = timed
    return total


def data(steps: int) -> tuple[list[dict], list[dict]]:
    g = torch.Generator().manual_seed(0)
    rows = [{"input_ids": torch.randint(0, 200, (SEQ,), generator=g), "labels": i % 2}
            for i in range(steps * BATCH + 64)]
    return rows[:steps * BATCH], rows[steps * BATCH:]


def one(variant: str, steps: int, folder: Path, reports: bool) -> dict:
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(
        vocab_size=200, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, num_labels=2))
    train, dev = data(steps)
    out = folder / variant
    args = TrainingArguments(str(out), num_train_epochs=1, per_device_train_batch_size=BATCH,
                             eval_strategy="epoch", save_strategy="no", logging_steps=10,
                             report_to=["codecarbon"] if variant == "codecarbon" else [],
                             use_cpu=True, disable_tqdm=True, seed=0)
    probe, callbacks = Probe(), []
    if variant == "greennlp":
        callbacks.append(GreenNLPCallback(output_dir=str(folder / "runs"), reports=reports))
    t0 = time.perf_counter()
    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=dev,
                      callbacks=callbacks + [probe])
    t1 = time.perf_counter()
    hooks = time_hooks(trainer)
    trainer.train()
    t2 = time.perf_counter()
    gaps = [b - a for a, b in zip(probe.begins, probe.begins[1:])]
    result = {"construct_s": t1 - t0, "to_first_step_s": probe.begins[0] - t1,
              "median_step_ms": 1e3 * statistics.median(gaps[1:]),
              "hooks_per_step_us": 1e6 * hooks["step"] / len(probe.begins),
              "train_begin_ms": 1e3 * hooks["begin"], "train_end_ms": 1e3 * hooks["end"],
              "epoch_eval_hooks_ms": 1e3 * hooks["other"],
              "after_last_step_s": t2 - probe.last_end, "total_s": t2 - t0}
    if variant == "greennlp":
        record = callbacks[0].record
        result["reports"] = [{"stage": s.name, "duration_s": round(s.duration_s, 3),
                              "energy_kwh": s.energy_kwh, "method": s.energy_method,
                              "co2_kg": s.co2_kg, "cost_usd": s.cost_usd} for s in record.stages]
        result["region"] = record.footprint["carbon_intensity_source"]
    if variant == "codecarbon":
        rows = list(csv.DictReader(open(out / "emissions.csv")))
        keep = ("duration", "emissions", "energy_consumed", "cpu_energy", "ram_energy",
                "gpu_energy", "cpu_power", "ram_power", "country_name", "region",
                "tracking_mode", "cpu_model")
        result["reports"] = [{k: r.get(k) for k in keep} for r in rows[-1:]]
    return result


def own_step_cost_us(n: int = 100_000) -> dict[str, float]:
    """Each callback's per-step events called ``n`` times outside training: what it adds to
    every step, measured precisely (the Trainer calls on_step_begin and on_step_end)."""
    from transformers import TrainerControl, TrainerState
    from transformers.integrations import CodeCarbonCallback

    args = TrainingArguments(tempfile.mkdtemp(), report_to=[], use_cpu=True)
    state, control = TrainerState(), TrainerControl()
    out = {}
    for name, cb in (("greennlp", GreenNLPCallback(output_dir=tempfile.mkdtemp())),
                     ("codecarbon", CodeCarbonCallback())):
        t = time.perf_counter()
        for _ in range(n):
            cb.on_step_begin(args, state, control)
            cb.on_step_end(args, state, control)
        out[name] = 1e6 * (time.perf_counter() - t) / n
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a single variant, in this process
    opts = parser.parse_args()
    warnings.filterwarnings("ignore")
    hf_logging.set_verbosity_error()
    import logging

    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    if opts.one:
        with tempfile.TemporaryDirectory() as tmp:
            result = one(opts.one.replace("_reports", ""), opts.steps, Path(tmp),
                         reports=opts.one.endswith("_reports"))
        print("RESULT " + json.dumps(result, default=str))
        return
    # Each run in a fresh process, as a user's script runs: the first use of each tool is
    # included, and no run inherits another's state (one variant's report rendering made
    # the next run's steps 4x faster when they shared a process).
    variants = ("plain", "greennlp", "greennlp_reports", "codecarbon")
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    for _ in range(opts.rounds):
        for v in variants:
            out = subprocess.run([sys.executable, __file__, "--one", v, "--steps", str(opts.steps)],
                                 capture_output=True, text=True, check=True).stdout
            runs[v].append(json.loads(out.split("RESULT ", 1)[1]))
    keys = ("construct_s", "train_begin_ms", "to_first_step_s", "median_step_ms",
            "hooks_per_step_us", "epoch_eval_hooks_ms", "train_end_ms", "after_last_step_s",
            "total_s")
    print(f"{opts.steps} steps, {opts.rounds} rounds (medians, each run a fresh process); "
          f"torch threads {torch.get_num_threads()}")
    table = {v: {k: statistics.median(x[k] for x in runs[v]) for k in keys} for v in variants}
    base = table["plain"]
    print(f"{'variant':18s}" + "".join(f"{k:>20s}" for k in keys))
    for v, row in table.items():
        print(f"{v:18s}" + "".join(f"{row[k]:20.3f}" for k in keys))
    for v in variants[1:]:
        extra = (table[v]["construct_s"] + table[v]["to_first_step_s"]
                 - base["construct_s"] - base["to_first_step_s"])
        print(f"  {v}: start-up {extra:+.3f} s; after the last step "
              f"{table[v]['after_last_step_s'] - base['after_last_step_s']:+.3f} s; median step "
              f"{table[v]['median_step_ms'] / base['median_step_ms']:.3f}x plain; whole train() "
              f"{table[v]['total_s'] / base['total_s']:.3f}x plain")
    print("own per-step cost (on_step_begin + on_step_end, 100,000 calls):",
          {k: f"{v:.2f} us" for k, v in own_step_cost_us().items()})
    print("\nwhat each reports (last round):")
    for v in ("greennlp", "codecarbon"):
        print(v, json.dumps(runs[v][-1].get("reports"), indent=1, default=str))
        if v == "greennlp":
            print("  carbon intensity:", runs[v][-1]["region"])


if __name__ == "__main__":
    main()
