"""Pretrain, then adapt: continued training of a pretrained decoder on the corpus (an
``adaptable`` family of the table, e.g. SmolLM2-135M as ``smollm2_adapted``).

The pretrained decoder is trained further, with its own tokenizer, on the training split
as running text (``<eot> doc <eot> doc ...`` cut into blocks of its section's
``block_size`` tokens, like the models trained from scratch; for SmolLM2
``lm.smollm2.block_size``), for ``steps`` optimizer steps of
the shared training loop (AdamW, warm-up then linear decay, clipping). Its dev loss on the
first ``lm.smollm2.dev_documents`` dev documents, scored as running text, is recorded
before and after; the model is then scored on test like the pretrained one, so the report
shows what adapting bought and what it cost. The pretraining itself was not measured here
and is not part of that cost.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from greennlp.config import TrainConfig, section
from greennlp.models import family
from greennlp.models.checkpoints import load_weights
from greennlp.models.finetuning import adapt_module, merge_module
from greennlp.models.lm_accounting import lm_accounting
from greennlp.record import ModelResult, Training, build
from greennlp.run import Run, seed_everything
from greennlp.train.classifiers import seconds_per_step
from greennlp.train.lm import fit_blocks, token_blocks



def adapted_name(name: str) -> str:
    """The record's name of family ``name`` adapted on the corpus (``smollm2_adapted``)."""
    return f"{name}_adapted"


def _hf_causal_batch(rows: np.ndarray, _: int) -> dict:
    """A Hugging Face causal LM shifts the labels itself: inputs and labels are the block."""
    t = torch.from_numpy(rows)
    return {"input_ids": t, "labels": t}


def _dev_loss(model, dev: list[str], window: int, stride: int) -> Callable[[], float]:
    def score() -> float:
        t0 = time.perf_counter()
        nll, tokens = model.score_stream(dev, window, stride)
        score.seconds += time.perf_counter() - t0
        return -float(nll.sum()) / max(1.0, float(tokens.sum()))
    score.seconds = 0.0
    return score


def adapt(run: Run, name: str, folder: Path, dev: list[str], note: str):
    """The stage ``train:<name>_adapted``: train a fresh copy of pretrained family ``name``
    further on the corpus, with the settings of its section; the model.

    ``dev``: dev documents in order (the first ``dev_documents`` of the section are used);
    ``note``: the FLOPs note of the model's record entry.
    """
    cfg, acfg, adapted = run.cfg.lm, section(run.cfg, family(name).section), adapted_name(name)
    best = folder / "checkpoints" / "best" / "model.safetensors"

    def reload(_st):
        model = family(name).build()
        module, _ = adapt_module(model.module, acfg.finetune, "CAUSAL_LM")
        load_weights(module, best)  # saved as it trained: with its adapters
        model.module = merge_module(module).eval()
        return model

    def train(st):
        seed_everything(run.cfg.seed)
        model = family(name).build()
        model.module, finetune = adapt_module(model.module, acfg.finetune, "CAUSAL_LM")
        tok = model.tokenizer
        window = min(cfg.evaluation.window, acfg.block_size + 1)
        stride = max(1, cfg.evaluation.stride * window // cfg.evaluation.window)
        dev_score = _dev_loss(model, dev[:acfg.dev_documents], window, stride)
        before = -dev_score()
        t0 = time.perf_counter()
        blocks = token_blocks(tok.encode(run.splits.texts("train")), tok.eos_id, acfg.block_size)
        tokenize_s = time.perf_counter() - t0
        train_cfg = TrainConfig(epochs=1, batch_size=acfg.batch_size, lr=acfg.lr,
                                warmup_fraction=acfg.warmup_fraction, patience=1,
                                max_steps=acfg.steps)
        dev_score.seconds = 0.0
        info = fit_blocks(model.module, blocks, _hf_causal_batch, dev_score, train_cfg,
                          folder / "checkpoints", seed=run.cfg.seed, desc=f"adapt {adapted}")
        model.module = merge_module(model.module).eval()  # adapters into the weights
        # only the best weights are kept (the resume point holds the optimizer: 3x the size)
        shutil.rmtree(folder / "checkpoints" / "last", ignore_errors=True)
        info = {k: v for k, v in info.items() if k != "config"}
        info.update(dev_loss_before=before, dev_perplexity_before=math.exp(before),
                    dev_loss_after=info["best_dev_loss"], dev_documents=len(dev[:acfg.dev_documents]),
                    tokenize_s=tokenize_s, block_size=acfg.block_size, base=name,
                    finetune=finetune, seconds_per_step=seconds_per_step(info.get("history", [])),
                    accounting=lm_accounting(model.spec.get("model_type", "llama"), model.spec,
                                             acfg.block_size))
        counts = model.parameter_counts()
        run.record.add_model(ModelResult(
            name=adapted, family=name, params_total=counts["total"],
            params_non_embedding=counts["non_embedding"], flops_note=note,
            training=build(Training, info), checkpoint=str(best), stages=[f"train:{adapted}"]))
        st.metrics = {k: v for k, v in info.items() if k != "history"}
        run.log(f"{adapted}: {info['steps']} steps, {info['tokens_trained']:,} tokens; dev "
                f"loss {before:.3f} -> {info['best_dev_loss']:.3f} nats/token")
        return model

    return run.stage(f"train:{adapted}", train, reload=reload)
