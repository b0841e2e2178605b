"""DPO training speed: greennlp's loop against TRL's ``DPOTrainer``, same work, side by side.

Both train the same model (SmolLM2-135M by default; ``--tiny`` for a random 2-layer Llama)
on the same pairs, tokens and precomputed reference log-probabilities (TRL tokenizes the
pairs and computes them; greennlp takes them from TRL's dataset), for the same number of
optimizer steps with the same batch size, optimizer (fused AdamW), clipping, LoRA
settings (or full fine-tuning with ``--full``) and fp32 precision. TRL is configured to do
the same work: no bf16 autocast and no gradient checkpointing (DPOConfig's defaults; with
``--trl-defaults`` TRL runs with them as well, for reference), no evaluation, no saving.
The rounds alternate greennlp and TRL in one process so both see the same neighbours on a
shared machine; the report is the median seconds per optimizer step (from the first step
to the last, set-up excluded), the CPU seconds of the whole training call per step (set-up
included; steadier than wall time when neighbours are busy) and the ratios TRL / greennlp
(> 1: greennlp is faster).

Measured (2-core AMD EPYC, shared with other jobs, LoRA, 8 steps of 8 pairs, 2 rounds): TRL
20.7 s/step, greennlp 14.3 s/step (1.45x); CPU 6.3 against 4.9 s/step (1.29x); mean train
loss 0.6687 against 0.6676 (same data, other order). On CPU TRL projects every position
through the output layer (its compact path needs Triton); greennlp only the completion's.

Pairs: prompt = the first 4 words of a Rotten Tomatoes snippet, chosen = the next 16 words
of a fresh one, rejected = of a rotten one (the default run's lengths, with no sampling).

Run: ``OMP_WAIT_POLICY=PASSIVE python benchmarks/dpo_vs_trl.py [--steps 8] [--rounds 2]``
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time

import torch


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def rt_pairs(n: int, seed: int = 0) -> dict[str, list[str]]:
    """Prompt / chosen / rejected strings from the default dataset's snippets."""
    import numpy as np

    from greennlp.config import parse_config
    from greennlp.data import prepare

    splits, _ = prepare(parse_config(None, []).data, seed)
    rng = np.random.default_rng(seed)
    by = {lab: [t.split() for t in splits.train["text"] if len(t.split()) >= 20]
          for lab in ("fresh", "rotten")}
    out = {"prompt": [], "chosen": [], "rejected": []}
    for i in range(n):
        good, bad = (by[lab][j] for lab, j in (("fresh", rng.integers(len(by["fresh"]))),
                                               ("rotten", rng.integers(len(by["rotten"])))))
        out["prompt"].append(" ".join(good[:4]))
        out["chosen"].append(" " + " ".join(good[4:20]))
        out["rejected"].append(" " + " ".join(bad[4:20]))
    return out


def decoder(tiny: bool):
    """A fresh copy of the model (a NeuralLM) and its tokenizer for TRL."""
    from transformers import PreTrainedTokenizerFast

    if tiny:
        from tests.preference.conftest import tiny_llama

        lm = tiny_llama()
    else:
        from greennlp.models import family

        lm = family("smollm2").build()
    eos = lm.tokenizer.tokenizer.id_to_token(lm.tokenizer.eos_id)
    pad = lm.tokenizer.tokenizer.id_to_token(lm.tokenizer.pad_id)
    hf = PreTrainedTokenizerFast(tokenizer_object=lm.tokenizer.tokenizer, eos_token=eos,
                                 pad_token=pad)
    return lm, hf


LORA = dict(rank=8, alpha=16.0, targets=("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                         "up_proj", "down_proj"))


class StepClock:
    """Wall time from the start of the first optimizer step to the end of the last."""

    def __init__(self) -> None:
        self.first = self.last = None

    def tick_start(self) -> None:
        if self.first is None:
            self.first = time.perf_counter()

    def tick_end(self) -> None:
        self.last = time.perf_counter()


def run_trl(data, args, defaults: bool) -> dict:
    """TRL's DPOTrainer for ``args.steps`` steps; seconds per step and the pairs (as TRL
    tokenized them, with its reference log-probabilities) for greennlp's run."""
    import datasets
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import DPOConfig, DPOTrainer

    lm, hf = decoder(args.tiny)
    clock = StepClock()

    class Clock(TrainerCallback):
        def on_step_begin(self, *a, **k):
            clock.tick_start()

        def on_step_end(self, *a, **k):
            clock.tick_end()

    precision = {} if defaults else {"bf16": False, "gradient_checkpointing": False}
    with tempfile.TemporaryDirectory() as out:
        config = DPOConfig(output_dir=out, beta=0.1, learning_rate=args.lr,
                           per_device_train_batch_size=args.batch_size, max_steps=args.steps,
                           max_grad_norm=1.0, weight_decay=0.0, warmup_steps=0,
                           precompute_ref_log_probs=True, use_cpu=True, report_to=[],
                           save_strategy="no", eval_strategy="no", logging_steps=10_000,
                           disable_tqdm=True, dataloader_num_workers=0, max_length=None,
                           seed=0, **precision)
        peft = None if args.full else LoraConfig(r=LORA["rank"], lora_alpha=LORA["alpha"],
                                                  target_modules=list(LORA["targets"]),
                                                  lora_dropout=0.0, bias="none")
        trainer = DPOTrainer(model=lm.module, args=config, processing_class=hf,
                             train_dataset=datasets.Dataset.from_dict(data), peft_config=peft,
                             callbacks=[Clock()])
        c0 = _cpu()
        result = trainer.train()
        cpu = _cpu() - c0
        tokenized = trainer.train_dataset
    return {"s_per_step": (clock.last - clock.first) / args.steps, "cpu_s": cpu,
            "train_loss": result.training_loss, "dataset": tokenized}


def run_greennlp(tokenized, args) -> dict:
    """greennlp's fit_dpo on TRL's tokenized pairs, for ``args.steps`` steps."""
    from greennlp.config import TrainConfig
    from greennlp.models.lora import LoraSpec, add_lora
    from greennlp.train import dpo

    lm, _ = decoder(args.tiny)
    pairs = [dpo.Pair(r["prompt_ids"], r["chosen_ids"], r["rejected_ids"], r["ref_chosen_logps"],
                      r["ref_rejected_logps"]) for r in tokenized]
    module = lm.module if args.full else add_lora(lm.module, LoraSpec(**LORA))
    clock = StepClock()
    real_batch = dpo.pair_batch

    def timed_batch(*args, **kwargs):  # the loop builds a batch right before each step
        clock.tick_start()
        return real_batch(*args, **kwargs)
    dpo.pair_batch = timed_batch
    cfg = TrainConfig(batch_size=args.batch_size, lr=args.lr, weight_decay=0.0,
                      warmup_fraction=0.0, max_steps=args.steps, min_steps=0, patience=100)
    try:
        with tempfile.TemporaryDirectory() as ckpt:
            c0 = _cpu()
            info = dpo.fit_dpo(module, pairs, [], 0.1, cfg, lm.tokenizer.pad_id, ckpt, seed=0,
                               desc="greennlp dpo")
            clock.tick_end()
            cpu = _cpu() - c0
    finally:
        dpo.pair_batch = real_batch
    losses = [h["train_loss"] for h in info["history"]]
    return {"s_per_step": (clock.last - clock.first) / args.steps, "cpu_s": cpu,
            "train_loss": sum(losses) / len(losses)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--full", action="store_true", help="every weight instead of LoRA")
    parser.add_argument("--tiny", action="store_true", help="a random 2-layer Llama")
    parser.add_argument("--trl-defaults", action="store_true",
                        help="TRL with DPOConfig's bf16 and gradient checkpointing")
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    data = rt_pairs(args.steps * args.batch_size)
    times = {"greennlp": [], "trl": []}
    for _ in range(args.rounds):
        theirs = run_trl(data, args, args.trl_defaults)
        ours = run_greennlp(theirs["dataset"], args)
        for name, r in (("trl", theirs), ("greennlp", ours)):
            times[name].append(r)
            print(f"{name}: {r['s_per_step']:.2f} s/step, {r['cpu_s']:.1f} CPU s, "
                  f"mean train loss {r['train_loss']:.4f}", flush=True)
    med = {k: statistics.median(r["s_per_step"] for r in v) for k, v in times.items()}
    # CPU seconds of the whole training call: steadier than wall time on a shared machine
    cpu = {k: statistics.median(r["cpu_s"] for r in v) / args.steps for k, v in times.items()}
    print(json.dumps({"model": "tiny" if args.tiny else "smollm2",
                      "tuning": "full" if args.full else "lora", "steps": args.steps,
                      "batch_size": args.batch_size, "rounds": args.rounds,
                      "trl_defaults": args.trl_defaults, "s_per_step": med,
                      "trl_over_greennlp": med["trl"] / med["greennlp"],
                      "cpu_s_per_step": cpu,
                      "trl_over_greennlp_cpu": cpu["trl"] / cpu["greennlp"]}, indent=1))


if __name__ == "__main__":
    main()
