"""MiniLM fine-tuned in full against LoRA and frozen lower layers, on the default data.

Target (issue "Cheaper training"): LoRA or frozen lower layers within 0.5 test accuracy
points of full fine-tuning at no more than 60% of its training energy.

Every method uses the default run's MiniLM recipe (``minilm`` section: one epoch, batch 32,
max length 64, the ``min_steps`` floor) through the same code as ``greennlp run``
(:func:`greennlp.train.classifiers.fit_family`); LoRA uses the ``minilm_peft`` section's
defaults (rank 8 on query and value, lr 5e-4), frozen lower layers the ``minilm``
section with ``finetune.method=freeze``. Seeds are run seed-major with the methods
alternated inside each seed, so slow phases of a shared machine hit every method alike.

Cost is the CPU seconds of this process while training (``time.process_time``; dev
scoring during training included, test scoring not): with an energy estimate of CPU
time x watts per thread, which is all this machine allows (no RAPL), the energy ratio
equals the CPU-time ratio. Wall time and seconds per optimizer step are printed too. One
training step of each method is profiled with ``torch.profiler`` (top operators by self
CPU time).

Run: ``python benchmarks/peft_vs_full.py [--seeds 3] [--methods full,lora,freeze]``;
``--cost-only STEPS`` measures only the CPU seconds per optimizer step of each method on
the same batches, alternated (what a machine too busy for whole trainings allows).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from greennlp.config import RunConfig, section
from greennlp.config.sections import FinetuneConfig
from greennlp.data import prepare
from greennlp.run import seed_everything
from greennlp.train.classifiers import fit_family

# method -> (family, finetune settings): the families' own sections otherwise
METHODS = {"full": ("minilm", FinetuneConfig(method="full")),
           "lora": ("minilm_peft", FinetuneConfig(method="lora")),
           "ia3": ("minilm_peft", FinetuneConfig(method="ia3")),
           "freeze": ("minilm", FinetuneConfig(method="freeze", freeze_layers=3))}


def interval(values: list[float], confidence: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of the t interval over seeds."""
    from scipy import stats

    v = np.asarray(values, float)
    if len(v) < 2:
        return float(v.mean()), float("nan")
    half = stats.t.ppf((1 + confidence) / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
    return float(v.mean()), float(half)


def settings(cfg: RunConfig, method: str, max_steps: int | None = None):
    """The family and its section for ``method``: a name of :data:`METHODS`, optionally
    followed by overrides, e.g. ``freeze:freeze_layers=4,lr=2e-4``; fine-tuning keys go to
    ``finetune``, the others to ``train`` (on the command line, ``+`` separates them)."""
    base, _, extra = method.partition(":")
    name, finetune = METHODS[base]
    sec = section(cfg, name)
    train = dataclasses.replace(sec.train, max_steps=max_steps) if max_steps else sec.train
    tune_keys = {f.name for f in dataclasses.fields(finetune)}
    for item in filter(None, extra.split(",")):
        key, _, value = item.partition("=")
        if key in tune_keys:
            kind = type(getattr(finetune, key))
            finetune = dataclasses.replace(finetune, **{key: kind(value)})
        else:
            kind = type(getattr(train, key))
            train = dataclasses.replace(train, **{key: kind(value)})
    return name, dataclasses.replace(sec, finetune=finetune, train=train)


def profile_step(cfg: RunConfig, splits, method: str, rows: int = 12) -> None:
    """One optimizer step (batch 32 of training texts, after one warm-up step) under
    torch.profiler: the top operators by self CPU time."""
    from torch.profiler import ProfilerActivity, profile

    from greennlp.models import family
    from greennlp.train.loop import make_optimizer

    name, sec = settings(cfg, method)
    model = family(name).build(sec, None, splits.labels, 0)
    pos = {lab: i for i, lab in enumerate(model.labels)}
    texts = splits.train["text"].tolist()[:32]
    batch = model.collate(model.encode(texts), [pos[y] for y in splits.train["label"][:32]])
    optimizer = make_optimizer(model.model, sec.train)
    model.model.train()

    def step() -> None:
        model.model(**batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    step()
    t0 = time.process_time()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    print(f"\n== {method}: one step, {time.process_time() - t0:.2f} CPU s under the profiler")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows,
                                    max_name_column_width=40))


def cost_per_step(cfg: RunConfig, splits, methods: list[str], steps: int, chunk: int = 5
                  ) -> None:
    """CPU and wall seconds per optimizer step of each method on the same training batches
    (the default run's length-bucketed batches of 32), ``chunk`` steps of one method after
    another's, round after round, so that a busy neighbour slows each method alike; the
    first chunk of each is a warm-up and not counted. Prints the medians over chunks."""
    from greennlp.models import family
    from greennlp.train.batching import bucketed_batches
    from greennlp.train.loop import make_optimizer

    built = {}
    for method in methods:
        name, sec = settings(cfg, method)
        model = family(name).build(sec, None, splits.labels, 0)
        model.model.train()
        built[method] = (model, make_optimizer(model.model, sec.train))
    any_model = built[methods[0]][0]
    pos = {lab: i for i, lab in enumerate(any_model.labels)}
    ids = any_model.encode(splits.train["text"].tolist())
    y = [pos[lab] for lab in splits.train["label"]]
    order = bucketed_batches([len(x) for x in ids], 32, np.random.default_rng(0))
    per: dict[str, list[tuple[float, float]]] = {m: [] for m in methods}
    for r in range(steps // chunk + 1):
        batches = order[r * chunk:(r + 1) * chunk]
        for method in methods:
            model, optimizer = built[method]
            c0, t0 = time.process_time(), time.perf_counter()
            for idx in batches:
                batch = model.collate([ids[i] for i in idx], [y[i] for i in idx])
                model.model(**batch).loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            if r:  # round 0 warms up
                per[method].append(((time.process_time() - c0) / len(batches),
                                    (time.perf_counter() - t0) / len(batches)))
        print(f"round {r}: load {os.getloadavg()[0]:.1f}", flush=True)
    base = float(np.median([c for c, _ in per[methods[0]]]))
    print(f"\n| method | CPU s / step (median of {len(per[methods[0]])} chunks of {chunk}) | "
          f"CPU ratio to {methods[0]} | wall s / step | trainable / total params | "
          f"stored per task |\n|---|---|---|---|---|---|")
    for method in methods:
        cpu = float(np.median([c for c, _ in per[method]]))
        wall = float(np.median([w for _, w in per[method]]))
        facts = built[method][0].finetune
        print(f"| {method} | {cpu:.2f} | {cpu / base:.2f} | {wall:.2f} | "
              f"{facts['trainable_params']:,} / {facts['total_params']:,} | "
              f"{facts['stored_bytes'] / 1e6:.2f} MB |")
    ratios = {m: [a[0] / b[0] for a, b in zip(per[m], per[methods[0]])] for m in methods}
    for method in methods[1:]:
        r = ratios[method]
        print(f"{method}: CPU ratio per round (paired with {methods[0]}): median "
              f"{np.median(r):.2f}, range {min(r):.2f}-{max(r):.2f}")


def accuracy(model, frame) -> float:
    proba = model.predict_proba(frame["text"].tolist(), 64)
    pos = {lab: i for i, lab in enumerate(model.labels)}
    return float(np.mean(proba.argmax(1) == np.array([pos[y] for y in frame["label"]])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--methods", default="full,lora,freeze",
                        help="comma-separated; a method may carry overrides separated by "
                             "'+', e.g. freeze:freeze_layers=4+lr=2e-4")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--max-steps", type=int, default=None, help="a quick check only")
    parser.add_argument("--cost-only", type=int, default=None, metavar="STEPS",
                        help="measure only the cost per optimizer step over STEPS steps of "
                             "each method (no training to the end, no accuracy)")
    args = parser.parse_args()
    methods = [m.replace("+", ",") for m in args.methods.split(",")]
    cfg = RunConfig()
    splits, _ = prepare(cfg.data, cfg.seed)
    print(f"data: {len(splits.train)} train, {len(splits.dev)} dev, {len(splits.test)} test; "
          f"load average at start {os.getloadavg()}")
    if not args.no_profile:
        for method in methods:
            profile_step(cfg, splits, method)
    if args.cost_only:
        cost_per_step(cfg, splits, methods, args.cost_only)
        print(f"load average at the end {os.getloadavg()}")
        return
    rows: dict[str, list[dict]] = {m: [] for m in methods}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            for method in methods:
                name, sec = settings(cfg, method, args.max_steps)
                seed_everything(seed)
                t0, c0 = time.perf_counter(), time.process_time()
                model, info = fit_family(name, sec, splits, seed, Path(tmp) / f"{method}{seed}",
                                         desc=f"{method} seed {seed}")
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                row = {"seed": seed, "wall_s": wall, "cpu_s": cpu, "steps": info["steps"],
                       "s_per_step": info["seconds_per_step"], "test": accuracy(model, splits.test),
                       "dev": info["best_dev_accuracy"], **model.finetune}
                rows[method].append(row)
                print(f"{method:7s} seed {seed}: test {row['test']:.4f} dev {row['dev']:.4f} "
                      f"cpu {cpu:.0f} s wall {wall:.0f} s steps {row['steps']} "
                      f"{row['s_per_step']:.3f} s/step load {os.getloadavg()[0]:.2f}", flush=True)
    summarise(rows, methods)


def summarise(rows: dict[str, list[dict]], methods: list[str]) -> None:
    base = rows[methods[0]]
    base_cpu = np.mean([r["cpu_s"] for r in base])
    print(f"\n| method | test accuracy (mean ± 95% t, {len(base)} seeds) | minus {methods[0]} "
          f"(paired, points) | CPU s | CPU ratio | wall s | s/step | trainable / total "
          f"params | stored per task |")
    print("|---|---|---|---|---|---|---|---|---|")
    for m in methods:
        r = rows[m]
        acc, half = interval([x["test"] for x in r])
        diff, dhalf = interval([100 * (x["test"] - b["test"]) for x, b in zip(r, base)])
        cpu = np.mean([x["cpu_s"] for x in r])
        print(f"| {m} | {acc:.4f} ± {half:.4f} | {diff:+.2f} ± {dhalf:.2f} | {cpu:.0f} | "
              f"{cpu / base_cpu:.2f} | {np.mean([x['wall_s'] for x in r]):.0f} | "
              f"{np.mean([x['s_per_step'] for x in r]):.3f} | {r[0]['trainable_params']:,} / "
              f"{r[0]['total_params']:,} | {r[0]['stored_bytes'] / 1e6:.2f} MB |")
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
