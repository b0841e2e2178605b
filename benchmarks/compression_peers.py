"""Peers side by side, in one run: the same fine-tuned MiniLM through Optimum's ONNX path,
through OpenVINO + NNCF post-training int8, and through greennlp's compression.

Targets (issue: compression at the frontier), against the dense fp32 MiniLM in PyTorch:
at least 10x the throughput at batch 32 within 1 test point and 5x within 0.5; at least
1.3x faster than the best peer configuration within the same accuracy.

* Optimum (``optimum-onnx``, which needs transformers < 4.58) runs in a virtual
  environment of its own that this benchmark creates (``--venv``): it exports the
  checkpoint, optimises it at O3 (and O4 where it runs: O4 adds fp16, meant for GPUs) and
  quantizes it with ``AutoQuantizationConfig`` for this CPU's instruction set, dynamic,
  per tensor and per channel (``benchmarks/peers/optimum_export.py``). The ONNX files it
  writes are then run here the way ``ORTModelForSequenceClassification`` runs them: the
  Hugging Face tokenizer (padding to the longest text) and an ONNX Runtime session;
* OpenVINO: ``openvino.convert_model`` of the PyTorch model, compiled for the CPU as is
  (fp32 weights; the plugin picks its own inference precision), and NNCF's
  ``nncf.quantize`` (transformer preset, 300 training texts for calibration);
* greennlp: every variant of the run (``greennlp compress RUN_ID --plan frontier``).

Every model runs with the same number of threads and is timed end to end (tokenisation
included) on dev texts, in rounds that alternate all of them; speed-ups are medians of
per-round ratios to the dense model. Accuracy is on test (scored here once per model, for
this benchmark), energy per 1M examples is greennlp's estimate. The results go to
``benchmarks/compression_peers.json`` in the run folder, which the run's report then
shows on its Pareto plot (the report is rewritten at the end).

Run: ``python benchmarks/compression_peers.py RUN_ID [--output-dir runs] [--rounds 7]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

PEERS_FILE = "compression_peers.json"
OPTIMUM_PINS = ["optimum-onnx[onnxruntime]==0.1.0", "transformers<4.58", "torch==2.13.0+cpu"]


def optimum_models(dense_folder: Path, work: Path, venv: Path) -> tuple[dict, dict]:
    """Optimum's ONNX models of the checkpoint (made in its own environment)."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *OPTIMUM_PINS], check=True)
    out = work / "optimum"
    script = Path(__file__).with_name("peers") / "optimum_export.py"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([str(python), str(script), str(dense_folder), str(out)],
                          capture_output=True, text=True, env={**env, "HF_HUB_OFFLINE": "1"})
    if proc.returncode != 0:
        sys.exit(f"Optimum's export failed:\n{proc.stderr[-3000:]}")
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    return {f"optimum {k}": Path(v) for k, v in summary["made"].items()}, summary


class HfOnnxPredictor:
    """What ``ORTModelForSequenceClassification`` does at inference: the Hugging Face
    tokenizer, then an ONNX Runtime session over every input the graph declares."""

    def __init__(self, folder: Path, labels: list[str], max_length: int, threads: int) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        files = sorted(folder.glob("*.onnx"))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(files[0]), opts, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.labels, self.max_length = labels, max_length
        self.file = files[0]

    def predict_proba(self, texts, batch_size: int = 32) -> np.ndarray:
        out = []
        for start in range(0, len(texts), batch_size):
            enc = self.tokenizer(list(texts[start:start + batch_size]), padding=True,
                                 truncation=True, max_length=self.max_length, return_tensors="np")
            # as ORTModelForSequenceClassification does: zeros for token type ids the
            # tokenizer does not return
            feed = {k: (enc[k] if k in enc else np.zeros_like(enc["input_ids"])).astype(np.int64)
                    for k in self.inputs}
            logits = self.session.run(None, feed)[0]
            e = np.exp(logits - logits.max(-1, keepdims=True))
            out.append(e / e.sum(-1, keepdims=True))
        return np.concatenate(out)


class OpenVinoPeer:
    """OpenVINO as its documentation converts a transformers classifier (optionally NNCF
    post-training int8), with the Hugging Face tokenizer."""

    def __init__(self, dense, tokenizer_folder: Path, calibration: list[str], int8: bool,
                 threads: int) -> None:
        import openvino as ov
        import torch
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_folder)
        self.max_length, self.labels = dense.max_length, dense.labels
        example = dict(self._encode(calibration[:2]))
        with torch.inference_mode():
            model = ov.convert_model(dense.model.eval(), example_input={
                k: torch.from_numpy(v) for k, v in example.items()})
        if int8:
            import nncf

            data = [self._encode(calibration[i:i + 1]) for i in range(len(calibration))]
            model = nncf.quantize(model, nncf.Dataset(data), model_type=nncf.ModelType.TRANSFORMER,
                                  subset_size=len(data))
        self.compiled = ov.Core().compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": threads})
        self.request = self.compiled.create_infer_request()
        self.precision = str(self.compiled.get_property("INFERENCE_PRECISION_HINT"))
        self.inputs = [i.get_any_name() for i in self.compiled.inputs]

    def _encode(self, texts) -> dict[str, np.ndarray]:
        enc = self.tokenizer(list(texts), padding=True, truncation=True,
                             max_length=self.max_length, return_tensors="np")
        return {"input_ids": enc["input_ids"].astype(np.int64),
                "attention_mask": enc["attention_mask"].astype(np.int64)}

    def predict_proba(self, texts, batch_size: int = 32) -> np.ndarray:
        out = []
        for start in range(0, len(texts), batch_size):
            feed = self._encode(texts[start:start + batch_size])
            logits = np.asarray(next(iter(self.request.infer(
                {k: feed[k] for k in self.inputs}).values())))
            e = np.exp(logits - logits.max(-1, keepdims=True))
            out.append(e / e.sum(-1, keepdims=True))
        return np.concatenate(out)


def accuracy(model, frame) -> float:
    proba = model.predict_proba(frame["text"].tolist(), 32)
    pos = {lab: i for i, lab in enumerate(model.labels)}
    return float(np.mean(proba.argmax(1) == np.array([pos[y] for y in frame["label"]])))


def alternate(models: dict, reference: str, texts: list[str], rounds: int) -> dict:
    """Median throughput at batch 32, latency at batch 1 and per-round speed-up ratios."""
    bulk, single = texts[:256], texts[:24]
    for m in models.values():  # warm-up
        m.predict_proba(bulk[:64], 32)
        m.predict_proba(single[:2], 1)
    tput = {k: [] for k in models}
    lat = {k: [] for k in models}
    for _ in range(rounds):
        for name, m in models.items():
            t0 = time.perf_counter()
            m.predict_proba(bulk, 32)
            tput[name].append(len(bulk) / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            for text in single:
                m.predict_proba([text], 1)
            lat[name].append(1e3 * (time.perf_counter() - t0) / len(single))
    ref_t, ref_l = tput[reference], lat[reference]
    return {k: {"throughput_b32": statistics.median(tput[k]),
                "latency_ms_b1": statistics.median(lat[k]),
                "throughput_speedup": statistics.median(a / b for a, b in zip(tput[k], ref_t)),
                "latency_speedup": statistics.median(b / a for a, b in zip(lat[k], ref_l))}
            for k in models}


def best_within(rows: dict, kind: str, drop: float) -> str | None:
    """The fastest model of ``kind`` (peer or greennlp) within ``drop`` test points."""
    ok = [k for k, r in rows.items() if r["kind"] == kind and r["test_drop_points"] <= drop]
    return max(ok, key=lambda k: rows[k]["throughput_speedup"], default=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_id")
    parser.add_argument("--output-dir", default="runs")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--venv", default=str(Path.home() / ".cache" / "greennlp" / "optimum-venv"))
    parser.add_argument("--skip-optimum", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated greennlp variants to "
                                                  "include (default: every one of the run)")
    args = parser.parse_args()

    import torch

    from greennlp import store, tasks
    from greennlp.compress.evaluation import inference_cost
    from greennlp.config import MeasureConfig, from_dict
    from greennlp.data import Splits
    from greennlp.measure.hardware import usable_cpus
    from greennlp.models import load_model
    from greennlp.record import RunRecord

    threads = usable_cpus()
    torch.set_num_threads(threads)
    folder = store.find_run_dir(args.output_dir, args.run_id)
    if folder is None:
        sys.exit(f"No run '{args.run_id}' under {args.output_dir}; run `greennlp run` first.")
    record = RunRecord.load(folder)
    splits = Splits.load(Path(folder) / "data", record.data["split"])
    ref = record.compression.reference or "minilm"
    if not record.model(ref):
        sys.exit(f"Run {record.run_id} has no {ref}; run the default `greennlp run`.")
    work = Path(folder) / "benchmarks"
    work.mkdir(exist_ok=True)
    dense_folder = Path(record.model(ref).checkpoint)
    dense = load_model(dense_folder)
    models, kinds, notes = {f"{ref} (dense fp32, PyTorch)": dense}, {}, {}
    kinds[f"{ref} (dense fp32, PyTorch)"] = "reference"
    if not args.skip_optimum:
        made, notes["optimum"] = optimum_models(dense_folder, work, Path(args.venv))
        for name, path in made.items():
            models[name], kinds[name] = HfOnnxPredictor(path, dense.labels, dense.max_length,
                                                        threads), "peer"
    calibration = splits.train["text"].sample(300, random_state=0).tolist()
    for int8 in (False, True):
        name = "openvino" + (" + nncf int8" if int8 else " (default precision)")
        models[name] = OpenVinoPeer(dense, dense_folder, calibration, int8, threads)
        kinds[name] = "peer"
        notes[name] = {"inference_precision": models[name].precision}
    only = {s for s in args.only.split(",") if s}
    for m in record.models:
        if m.variant_of and m.name.startswith(ref + "+") and (not only or m.name in only) \
                and m.checkpoint and Path(m.checkpoint).exists():
            models[m.name], kinds[m.name] = load_model(m.checkpoint), "greennlp"
    load_before = os.getloadavg()
    timing = alternate(models, f"{ref} (dense fp32, PyTorch)", splits.dev["text"].tolist(),
                       args.rounds)
    load_after = os.getloadavg()
    measure = from_dict(MeasureConfig, record.config.get("measure", {}))
    rows, dense_test = {}, None
    for name, m in models.items():
        test = accuracy(m, splits.test)
        dense_test = test if kinds[name] == "reference" else dense_test
        cost = inference_cost(m.predict_proba, splits.dev["text"].tolist(), measure, min_seconds=1.0)
        rows[name] = {"kind": kinds[name], "dev_accuracy": accuracy(m, splits.dev),
                      "test_accuracy": test, **timing[name],
                      "energy_kwh_per_1m": cost.get("energy_kwh_per_1m"),
                      "energy_method": cost.get("energy_method")}
    for r in rows.values():
        r["test_drop_points"] = 100 * (dense_test - r["test_accuracy"])
    verdicts = {}
    for drop in (1.0, 0.5):
        ours, peer = best_within(rows, "greennlp", drop), best_within(rows, "peer", drop)
        verdicts[f"within_{drop:g}_point"] = {
            "greennlp": ours, "peer": peer,
            "greennlp_speedup": rows[ours]["throughput_speedup"] if ours else None,
            "peer_speedup": rows[peer]["throughput_speedup"] if peer else None,
            "greennlp_over_peer": (rows[ours]["throughput_speedup"] / rows[peer]["throughput_speedup"]
                                   if ours and peer else None)}
    print(f"{'model':46s} {'kind':9s} {'test acc':>8s} {'drop':>6s} {'b=32 /s':>8s} "
          f"{'x':>6s} {'b=1 ms':>7s} {'x':>6s}")
    for k, r in rows.items():
        print(f"{k[:46]:46s} {r['kind']:9s} {r['test_accuracy']:8.4f} {r['test_drop_points']:+6.2f} "
              f"{r['throughput_b32']:8.1f} {r['throughput_speedup']:6.2f} {r['latency_ms_b1']:7.2f} "
              f"{r['latency_speedup']:6.2f}")
    print(json.dumps(verdicts, indent=1))
    print(f"load average before {load_before}, after {load_after}")
    result = {"run_id": record.run_id, "reference": ref, "rounds": args.rounds, "threads": threads,
              "rows": rows, "verdicts": verdicts, "notes": notes,
              "load_average": {"before": load_before, "after": load_after}}
    (work / PEERS_FILE).write_text(json.dumps(result, indent=1, default=str))
    tasks.write_reports(record)


if __name__ == "__main__":
    main()
