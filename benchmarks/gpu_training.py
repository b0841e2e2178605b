"""Training on a GPU, bf16 autocast against fp32, side by side in one process (needs CUDA).

A BERT-style encoder classifier of ``--layers`` x ``--hidden`` trains for ``--steps``
optimizer steps of the shared loop (:func:`greennlp.train.loop.train`) in each precision,
alternated ``--rounds`` times; the medians of seconds per step and of NVML energy per step
(whole GPU) are printed with their ratio, as JSON.

    python benchmarks/gpu_training.py --layers 8 --hidden 512 --steps 40
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import torch

from greennlp.config import TrainConfig
from greennlp.measure.energy import NvmlEnergy
from greennlp.train.loop import train


def _model(layers: int, hidden: int, vocab: int = 8000):
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=hidden // 64, intermediate_size=4 * hidden,
                        num_labels=2)
    torch.manual_seed(0)
    return BertForSequenceClassification(config)


def _once(precision: str, args, energy: NvmlEnergy) -> dict[str, float]:
    model = _model(args.layers, args.hidden)
    g = torch.Generator().manual_seed(0)
    batches = [{"input_ids": torch.randint(0, 8000, (args.batch, args.length), generator=g),
                "labels": torch.randint(0, 2, (args.batch,), generator=g)}
               for _ in range(args.steps)]
    cfg = TrainConfig(epochs=1, batch_size=args.batch, lr=1e-4, min_steps=0, patience=1,
                      precision=precision, device="cuda")
    with tempfile.TemporaryDirectory() as folder:
        torch.cuda.synchronize()
        energy.start()
        t0 = time.perf_counter()
        train(model, lambda epoch: iter(batches), len(batches), lambda: 0.0, cfg, folder,
              desc=precision)
        torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
        reading = energy.stop()
    return {"s_per_step": seconds / args.steps,
            "j_per_step": reading.kwh * 3.6e6 / args.steps if reading.kwh else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    energy = NvmlEnergy()
    results: dict[str, list[dict[str, float]]] = {"bf16": [], "fp32": []}
    _once("fp32", argparse.Namespace(**{**vars(args), "steps": 5}), energy)  # warm-up
    for _ in range(args.rounds):
        for precision in ("bf16", "fp32"):
            results[precision].append(_once(precision, args, energy))
    out = {p: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for p, rs in results.items()}
    out["fp32_over_bf16_time"] = out["fp32"]["s_per_step"] / out["bf16"]["s_per_step"]
    out["fp32_over_bf16_energy"] = out["fp32"]["j_per_step"] / out["bf16"]["j_per_step"]
    out["gpu"] = torch.cuda.get_device_name(0)
    out["settings"] = vars(args)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
