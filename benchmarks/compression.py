"""Compression benchmark: what greennlp's compressed variants buy against the dense MiniLM,
and greennlp's int8 path against the peers' plain calls, side by side in one run.

Target (issue: compression): the best variant within 1 accuracy point of the fine-tuned
MiniLM (chosen on dev, drop reported on test) reaches at least 5x the dense fp32
throughput at batch 32. Peers, on the same fine-tuned MiniLM:

* ``torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)``, as
  a PyTorch user would call it;
* ONNX Runtime's quantizer as documented: ``torch.onnx.export`` with default settings,
  then ``onnxruntime.quantization.quantize_dynamic`` with its defaults;
* greennlp's int8 path: eager-attention export, ONNX Runtime BERT fusion, per-channel
  dynamic int8.

Every variant is timed end to end (tokenisation included) on the same dev texts, in
rounds that alternate the variants, so that load from other processes hits all of them
alike; the medians over rounds and their ratios are reported.

Run: ``python benchmarks/compression.py RUN_ID [--output-dir runs] [--rounds 7]
[--student-epochs 6 --student-layers 2]``. ``RUN_ID`` is a finished ``greennlp run`` with
MiniLM; every variant already in its record (e.g. from ``greennlp compress``) joins the
comparison; ``--student-epochs`` distils one more student here first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def load_run(run_id: str, output_dir: str):
    from greennlp import store
    from greennlp.data import Splits
    from greennlp.record import RunRecord

    folder = store.find_run_dir(output_dir, run_id)
    if folder is None:
        sys.exit(f"No run '{run_id}' under {output_dir}; run `greennlp run` first.")
    record = RunRecord.load(folder)
    return record, Splits.load(Path(folder) / "data", record.data["split"])


def peer_torch_int8(model):
    """A plain ``quantize_dynamic`` call on a copy of the fp32 model."""
    import copy
    import warnings

    import torch

    from greennlp.models.classifier import EncoderClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model.model).eval(),
                                                   {torch.nn.Linear}, dtype=torch.qint8)
    return EncoderClassifier(q, model.tokenizer, model.labels, model.max_length, model.family)


def peer_ort_quantizer(model, work: Path):
    """The documented ONNX Runtime recipe: default export, default dynamic quantization."""
    from greennlp.compress.onnx_int8 import OnnxRuntimeInt8
    from greennlp.compress.base import Context

    return OnnxRuntimeInt8(fused=False, quantized=True, per_channel=False).compress(
        model, Context(None, 0, work))


def student(model, splits, layers: int, epochs: int, work: Path):
    """A distilled student, trained here once and reused from ``work`` afterwards."""
    from greennlp.compress.base import Context
    from greennlp.compress.distill import Distiller
    from greennlp.config import replace
    from greennlp.config.compress import DistillConfig
    from greennlp.models.classifier import EncoderClassifier

    folder = work / f"student-L{layers}-e{epochs}"
    if (folder / "model.safetensors").exists():
        return EncoderClassifier.load(folder)
    d = DistillConfig()  # the defaults of a run, trained longer
    cfg = replace(d.train, epochs=epochs, patience=epochs)
    out = Distiller(layers, cfg, d.hidden_size, d.temperature, d.alpha).compress(
        model, Context(splits, 0, work))
    out.save(folder)
    return out


def accuracy(model, frame) -> float:
    proba = model.predict_proba(frame["text"].tolist(), 64)
    pos = {lab: i for i, lab in enumerate(model.labels)}
    return float(np.mean(proba.argmax(1) == np.array([pos[y] for y in frame["label"]])))


def time_all(variants: dict, texts: list[str], rounds: int) -> dict[str, dict[str, float]]:
    """Median throughput at batch 32 and latency at batch 1, alternating variants per round."""
    bulk, single = texts[:256], texts[:32]
    tput = {k: [] for k in variants}
    lat = {k: [] for k in variants}
    for v in variants.values():  # warm-up
        v.predict_proba(bulk[:64], 32)
        v.predict_proba(single[:4], 1)
    for _ in range(rounds):
        for name, v in variants.items():
            t0 = time.perf_counter()
            v.predict_proba(bulk, 32)
            tput[name].append(len(bulk) / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            for text in single:
                v.predict_proba([text], 1)
            lat[name].append(1e3 * (time.perf_counter() - t0) / len(single))
    return {k: {"throughput_b32": statistics.median(tput[k]),
                "latency_ms_b1": statistics.median(lat[k]),
                "throughput_spread": (min(tput[k]), max(tput[k]))} for k in variants}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_id")
    parser.add_argument("--output-dir", default="runs")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--student-layers", type=int, default=2)
    parser.add_argument("--student-epochs", type=int, default=0)
    parser.add_argument("--max-drop-points", type=float, default=1.0)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    import torch

    from greennlp.compress.base import Context
    from greennlp.compress.onnx_int8 import OnnxRuntimeInt8
    from greennlp.models import load_model
    from greennlp.measure.hardware import usable_cpus

    torch.set_num_threads(usable_cpus())
    record, splits = load_run(args.run_id, args.output_dir)
    if not record.model("minilm"):
        sys.exit(f"Run {record.run_id} has no fine-tuned MiniLM; run the default `greennlp run`.")
    work = Path(record.run_dir) / "benchmark-compression"
    work.mkdir(exist_ok=True)
    dense = load_model(record.model("minilm").checkpoint)
    variants = {"minilm (dense fp32)": dense,
                "peer: torch quantize_dynamic": peer_torch_int8(dense),
                "peer: ORT quantizer (defaults)": peer_ort_quantizer(dense, work / "peer"),
                "greennlp int8 (ORT fused, per channel)":
                    OnnxRuntimeInt8().compress(dense, Context(splits, 0, work / "ours"))}
    for m in record.models:
        if m.variant_of and m.name.startswith("minilm+") and Path(m.checkpoint).exists():
            variants[m.name] = load_model(Path(m.checkpoint))
    if args.student_epochs:
        s = student(dense, splits, args.student_layers, args.student_epochs, work)
        name = f"student L{args.student_layers}, {args.student_epochs} epochs"
        variants[name] = s
        variants[name + " + greennlp int8"] = OnnxRuntimeInt8().compress(
            s, Context(splits, 0, work / "student-int8"))
    scores = {k: {"dev_accuracy": accuracy(v, splits.dev), "test_accuracy": accuracy(v, splits.test)}
              for k, v in variants.items()}
    timings = time_all(variants, splits.dev["text"].tolist(), args.rounds)
    ref_name = "minilm (dense fp32)"
    ref_t, ref_l = timings[ref_name]["throughput_b32"], timings[ref_name]["latency_ms_b1"]
    rows = {}
    for k in variants:
        t = timings[k]
        rows[k] = {**scores[k], **t, "throughput_x": t["throughput_b32"] / ref_t,
                   "latency_x": ref_l / t["latency_ms_b1"],
                   "dev_drop_points": 100 * (scores[ref_name]["dev_accuracy"] - scores[k]["dev_accuracy"]),
                   "test_drop_points": 100 * (scores[ref_name]["test_accuracy"] - scores[k]["test_accuracy"])}
    ok = {k: r for k, r in rows.items() if k != ref_name and r["dev_drop_points"] <= args.max_drop_points}
    best = max(ok, key=lambda k: ok[k]["throughput_x"], default=None)
    ours = rows["greennlp int8 (ORT fused, per channel)"]
    ratios = {"ours_vs_torch_quantize_dynamic_throughput":
              ours["throughput_b32"] / rows["peer: torch quantize_dynamic"]["throughput_b32"],
              "ours_vs_torch_quantize_dynamic_latency":
              rows["peer: torch quantize_dynamic"]["latency_ms_b1"] / ours["latency_ms_b1"],
              "ours_vs_ort_quantizer_throughput":
              ours["throughput_b32"] / rows["peer: ORT quantizer (defaults)"]["throughput_b32"],
              "ours_vs_ort_quantizer_latency":
              rows["peer: ORT quantizer (defaults)"]["latency_ms_b1"] / ours["latency_ms_b1"]}
    print(f"{'variant':48s} {'dev acc':>8s} {'test acc':>8s} {'b=32 /s':>9s} {'x':>6s} "
          f"{'b=1 ms':>8s} {'x':>6s}")
    for k, r in rows.items():
        print(f"{k[:48]:48s} {r['dev_accuracy']:8.4f} {r['test_accuracy']:8.4f} "
              f"{r['throughput_b32']:9.1f} {r['throughput_x']:6.2f} {r['latency_ms_b1']:8.2f} "
              f"{r['latency_x']:6.2f}")
    print("int8 ratios (ours / peer):", {k: round(v, 2) for k, v in ratios.items()})
    if best:
        r = rows[best]
        print(f"best within {args.max_drop_points:g} point(s) on dev: {best}: test drop "
              f"{r['test_drop_points']:+.2f} points, {r['throughput_x']:.2f}x throughput at b=32 "
              f"(target 5x: {'met' if r['throughput_x'] >= 5 else 'not met'}), "
              f"{r['latency_x']:.2f}x lower latency at b=1")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "ratios": ratios, "best": best,
                                               "rounds": args.rounds}, indent=2))


if __name__ == "__main__":
    main()
