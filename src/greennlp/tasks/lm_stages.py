"""The stages of the LM run (see :mod:`greennlp.tasks.lm` for the order and roles).

Every stage goes through ``run.stage``, which skips it (and reloads what it made) when
the record says it finished. Stages that only rank 0 runs are followed by a barrier
where the other ranks need their output. How each model is made is its family's
``training`` in the table: ``kneser-ney``, ``blocks`` (torch, here, under torchrun or on
Ray) or ``pretrained`` (loaded and scored as is).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd

from greennlp.config import section as config_section
from greennlp.data import Splits, prepare
from greennlp.evaluate.lm_eval import evaluate_lm, samples
from greennlp.measure.hardware import usable_cpus
from greennlp.measure.peak import matmul_peak, model_flops_utilisation
from greennlp.measure.scaling import compute_optimality
from greennlp.models import family, load_model
from greennlp.models.families import higher_is_better
from greennlp.models.lm_accounting import lm_accounting
from greennlp.models.lm_tokenizer import LmTokenizer, fit_window
from greennlp.models.ngram import NgramLM
from greennlp.record import ModelResult, Training, build
from greennlp.run import Run, seed_everything
from greennlp.tasks.common import data_stage
from greennlp.tasks.lm_context import LmContext, add_worker_energy, dev_texts, scored_test
from greennlp.tasks.lm_languages import (WEIGHTS_FILE, model_languages, sampled_blocks,
                                         tokenizer_texts)
from greennlp.train import distributed
from greennlp.train.lm import token_blocks
from greennlp.train.lm_jobs import make_job, ray_cluster, run_job, run_job_on_ray

# A one-epoch run is scored on dev at this many log-spaced points, for its training curve.
CURVE_POINTS = 6


def share_run(run: Run) -> None:
    """Under torchrun: threads per rank, and every rank learns rank 0's run id and folder."""
    import torch

    if distributed.active():
        torch.set_num_threads(distributed.threads_per_rank(usable_cpus()))
        ids = distributed.broadcast((run.record.run_id, run.record.run_dir))
        run.record.run_id, run.record.run_dir = ids


def prepare_data(run: Run) -> tuple[Splits, dict]:
    """The task's data (:func:`greennlp.data.prepare`): running text without labels."""
    return prepare(run.cfg.data, run.cfg.seed, labels=False, running_text=True)


def stage_corpus(run: Run) -> None:
    """Load, clean and split the corpus (rank 0): ``data``, running text without labels;
    the other ranks read the saved splits."""
    ctx = LmContext(run)
    finished = run.record.stage("data") is not None
    if not ctx.follower:
        run.splits = data_stage(run, unit="documents", metric="documents")
    if not finished:
        distributed.barrier()
    if run.splits is None:
        run.splits = Splits.load(ctx.path("data"), run.record.data.get("split", {}))


SELECTION_METRIC = "perplexity"  # of the models that share the run's tokenizer


def selection() -> dict:
    """How an LM run selects its model: the lowest dev perplexity among the models that
    share the run's tokenizer (a masked LM or a model with its own tokenizer has no dev
    perplexity to compare, so it is not a candidate)."""
    return {"metric": SELECTION_METRIC, "higher_is_better": higher_is_better(SELECTION_METRIC),
            "reason": "lowest dev perplexity among the models sharing the run's tokenizer"}


def stage_tokenizer(run: Run) -> None:
    """Byte-level BPE on train, and the training stream cut into context-sized blocks."""
    ctx = LmContext(run)
    path, blocks_path = ctx.path("tokenizer.json"), ctx.path("data", "train_blocks.npy")
    finished = run.record.stage("tokenizer") is not None

    def train(st) -> None:
        train_texts, alpha = run.splits.texts("train"), run.cfg.data.language_alpha
        tok = LmTokenizer.train(tokenizer_texts(run, alpha), ctx.cfg.vocab_size)
        tok.save(path)
        ids = tok.encode(train_texts)
        blocks = token_blocks(ids, tok.eos_id, ctx.cfg.context_length)
        np.save(blocks_path, blocks)
        tokens = sum(len(d) + 1 for d in ids)
        st.metrics = {"vocab_size": tok.vocab_size, "train_tokens": tokens,
                      "train_chars_per_token": sum(map(len, train_texts)) / tokens,
                      "blocks": int(len(blocks)), "context_length": ctx.cfg.context_length}
        langs = sampled_blocks(run, tok, ids, len(blocks), ctx.cfg.context_length, alpha,
                               ctx.path("data", WEIGHTS_FILE))
        if langs is not None:
            st.metrics["languages"] = langs
        st.artifacts["tokenizer"] = str(path)
        run.log(f"tokenizer: {tok.vocab_size} tokens, {tokens:,} training tokens"
                + (f", {len(langs['token_share'])} languages sampled at alpha={alpha:g}"
                   if langs else ""))
    if not ctx.follower:
        run.stage("tokenizer", train)
    if not finished:
        distributed.barrier()


def stage_peak(run: Run) -> None:
    """This machine's fp32 matmul rate with every usable core (for MFU)."""
    import torch

    ctx = LmContext(run)
    if not ctx.cfg.measure_peak or ctx.follower:
        return

    def measure(st) -> None:
        threads = torch.get_num_threads()
        torch.set_num_threads(usable_cpus())
        try:
            st.metrics = matmul_peak()
        finally:
            torch.set_num_threads(threads)
        run.log(f"matmul peak: {st.metrics['gflops_median']:.0f} GFLOP/s fp32 (median of "
                f"{st.metrics['repeats']})")
    run.stage("benchmark:matmul", measure)


def stage_models(run: Run) -> None:
    """Every model of ``lm.models``, then the scaling sweep and the sweep over temperature
    sampling by language, under one Ray instance if used."""
    ctx = LmContext(run)
    with ray_cluster(ctx.cfg.executor == "ray" and not ctx.follower, ctx.cfg.workers):
        for name in ctx.cfg.models:
            _model(ctx, name)
        if ctx.cfg.scaling.enabled:
            from greennlp.tasks.lm_scaling import stage_scaling

            stage_scaling(ctx)
        if ctx.cfg.language_sweep.alphas:
            from greennlp.tasks.lm_sweep import stage_language_sweep

            stage_language_sweep(ctx)


def followers_done(run: Run) -> None:
    """A worker rank has nothing to report: rank 0 writes the record."""
    if LmContext(run).follower:
        raise SystemExit(0)


def _model(ctx: LmContext, name: str) -> None:
    """Make (train, fit or load) and evaluate one model; rank 0 alone unless it trains."""
    fam = family(name)
    why = fam.available()
    if why:
        if not ctx.follower:
            ctx.run.note(f"{name} skipped: {why}")
        return
    if not ctx.run.record.stage(f"evaluate:{name}"):
        _make_and_evaluate(ctx, name, fam)
    if fam.adaptable and config_section(ctx.run.cfg, fam.section).steps > 0 and not ctx.follower:
        from greennlp.tasks.lm_adapt import adapt, adapted_name

        adapted = adapted_name(name)
        if not ctx.run.record.stage(f"evaluate:{adapted}"):
            model = adapt(ctx.run, name, ctx.path("models", adapted), dev_texts(ctx)[0], MATMUL_NOTE)
            _evaluate(ctx, adapted, model)


def _make_and_evaluate(ctx: LmContext, name: str, fam) -> None:
    if fam.training == "blocks":
        model = _train_torch(ctx, name)
    elif ctx.follower:
        return
    elif fam.training == "kneser-ney":
        model = _fit_ngram(ctx, name)
    else:
        model = _load_pretrained(ctx, name)
    if not ctx.follower:
        _evaluate(ctx, name, model)


def _result(name: str, model, info: dict, checkpoint, stages: list[str], note: str) -> ModelResult:
    counts = model.parameter_counts()
    return ModelResult(name=name, family=name, params_total=counts["total"],
                       params_non_embedding=counts["non_embedding"], flops_note=note,
                       training=build(Training, info), checkpoint=str(checkpoint), stages=stages)


MATMUL_NOTE = ("forward matmul FLOPs per document (2 per multiply-add), attention over the "
               "whole sequence as executed, at the mean test document length; per token in "
               "efficiency")


def _fit_ngram(ctx: LmContext, name: str):
    run, folder = ctx.run, ctx.path("models", name, "final")
    tok = LmTokenizer.load(ctx.path("tokenizer.json"))
    settings = config_section(run.cfg, family(name).section)

    def fit(st):
        t0 = time.perf_counter()
        kn = family(name).build(settings).fit_stream(tok.encode(run.splits.texts("train")),
                                                     tok.vocab_size, tok.eos_id,
                                                     tok.unpredictable_ids)
        info = {"order": settings.order, "discounts": [d.tolist() for d in kn.discounts_],
                "tokens_trained": kn.tokens_trained_, "train_time_s": time.perf_counter() - t0}
        model = NgramLM(kn, tok)
        model.save(folder)
        run.record.add_model(_result(name, model, info, folder, [f"train:{name}"],
                                     "n-gram entries with a non-zero count; FLOPs: table "
                                     "look-ups, no matmuls"))
        st.metrics = dict(info, ngrams=model.parameter_counts()["total"])
        return model
    return run.stage(f"train:{name}", fit, reload=lambda st: load_model(folder))


def _load_pretrained(ctx: LmContext, name: str):
    run = ctx.run

    def load(st):
        model = family(name).build()
        info = dict(model.facts, trained=False)
        run.record.add_model(_result(name, model, info, model.folder, [f"load:{name}"],
                                     MATMUL_NOTE))
        st.metrics = info
        return model
    return run.stage(f"load:{name}", load, reload=lambda st: family(name).build())


def _train_torch(ctx: LmContext, name: str):
    """Train a ``blocks`` family here (alone or with the other torchrun ranks) or on Ray."""
    run, cfg, folder = ctx.run, ctx.cfg, ctx.path("models", name)
    tok = LmTokenizer.load(ctx.path("tokenizer.json"))
    fam = family(name)
    spec = fam.spec(cfg, tok.vocab_size, tok.pad_id)
    train_cfg = config_section(run.cfg, fam.section).train
    job = make_job(family=name, spec=spec, tokenizer=ctx.path("tokenizer.json"),
                   blocks=ctx.path("data", "train_blocks.npy"), dev_texts=dev_texts(ctx)[0],
                   train=train_cfg, folder=folder, seed=run.cfg.seed,
                   context_length=cfg.context_length, mask_fraction=cfg.mlm.mask_fraction,
                   desc=f"train {name}", eval_points=CURVE_POINTS if train_cfg.epochs == 1 else None,
                   block_weights=weights if (weights := ctx.path("data", WEIGHTS_FILE)).exists()
                   else None)

    def train(st):
        seed_everything(run.cfg.seed)
        if cfg.executor == "ray" and not distributed.active():
            info = run_job_on_ray(job, cfg.workers)
            model = load_model(job["out_dir"])
        else:
            model, info = run_job(job)
        acc = lm_accounting(fam.architecture, spec, cfg.context_length)
        info.update(accounting=acc, compute_optimality=compute_optimality(
            acc["params_total"], info["tokens_trained"]))
        peak = _peak_gflops(ctx)
        if peak and info.get("tokens_per_s"):
            info["mfu"] = model_flops_utilisation(acc["training_flops_per_token"],
                                                  info["tokens_per_s"], peak)
        st.metrics = {k: v for k, v in info.items() if k not in ("history", "config")}
        if not ctx.follower:
            run.record.add_model(_result(name, model, info, folder / "final", [f"train:{name}"],
                                         MATMUL_NOTE))
            run.log(f"{name}: {info['tokens_trained']:,} tokens, "
                    f"{info.get('tokens_per_s') or 0:,.0f} tokens/s"
                    + (f" ({info['mfu']:.1%} of the matmul peak)" if info.get("mfu") else ""))
        return model, info.get("worker_cpu_s", 0.0)

    made = run.stage(f"train:{name}", train, reload=lambda st: (
        None if ctx.follower else load_model(job["out_dir"]), 0.0))
    if not ctx.follower:
        add_worker_energy(run, f"train:{name}", made[1])
    return made[0]


def _peak_gflops(ctx: LmContext) -> float | None:
    st = ctx.run.record.stage("benchmark:matmul")
    return st.metrics["gflops_median"] if st else None


def evaluate(run: Run, result: ModelResult, model) -> tuple[dict, dict]:
    """Dev and test perplexity / bits per character with CIs (test once), FLOPs and
    evaluation speed, into ``result``; the per-document test NLL is saved beside the model
    (``models/<name>/test_nll.npy``) for the clean-test audit. Returns (dev, test)."""
    ctx, ecfg, fam = LmContext(run), run.cfg.evaluate, family(result.family)
    dev, sub_idx = dev_texts(ctx)
    pretrained = fam.as_is
    protocol = ctx.cfg.evaluation
    if getattr(model, "context_length", 0) is None:
        # An LSTM reads any length, but it learned on blocks of lm.context_length tokens
        # (its state reset at each): it is scored with a window of that size, like the
        # decoder. Windows of 512 tokens gave the same bits per character 4x slower (460 s
        # against 116 s on the default corpus: batches of 8 long sequences).
        window, stride = fit_window(protocol.window, protocol.stride, ctx.cfg.context_length)
        protocol = replace(protocol, window=window, stride=stride)

    def score(test: pd.DataFrame) -> dict:
        test = scored_test(ctx, test["text"].tolist())
        if pretrained:  # slow: scored on the subsample only, every model is scored on it too
            return evaluate_lm(model, [], [test[i] for i in sub_idx], sub_idx, ecfg,
                               run.cfg.seed, test_is_subsample=True, protocol=protocol)
        return evaluate_lm(model, dev, test, sub_idx, ecfg, run.cfg.seed, causal=not fam.masked,
                           protocol=protocol)

    res = run.test_pass(result.name, score)
    result.dev, result.test = res["dev"], res["test"]
    acc = result.training.accounting or {}
    if pretrained:
        acc = lm_accounting(model.spec.get("model_type", "llama"), model.spec,
                            ctx.cfg.context_length)
    tokens_per_doc = float(res["nll"][1].mean())
    result.flops_per_example = acc.get("forward_flops_per_token", 0.0) * tokens_per_doc
    result.efficiency = {"eval_tokens_per_s": res["eval_tokens_per_s"],
                         "forward_flops_per_token": acc.get("forward_flops_per_token"),
                         "training_flops_per_token": acc.get("training_flops_per_token"),
                         "test_documents": int(res["nll"].shape[1]),
                         "scoring": res["scoring"], "tokenizer": (
                             "its own " if pretrained else "shared, learned on train: ")
                         + model.tokenizer.describe()}
    langs = model_languages(run, res, scored_test(ctx, run.splits.texts("test")), dev, sub_idx,
                            pretrained)
    if langs is not None:
        result.analysis["languages"] = langs
    folder = ctx.path("models", result.name)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "test_nll.npy", res["nll"])
    return res["dev"], res["test"]


def _evaluate(ctx: LmContext, name: str, model) -> None:
    """The stage ``evaluate:<name>``: the task's evaluation, then samples of text."""
    run = ctx.run
    result = run.record.model(name)
    fam = family(result.family)

    def work(st) -> None:
        _, test = run.task.evaluate(run, result, model)
        result.stages.append(f"evaluate:{name}")
        st.metrics = {f"test_{k}": v["value"] for k, v in test.items()}
        if fam.writes_text:
            st.metrics["samples"] = samples(model, ctx.cfg.sampling.prompts, ctx.cfg.sampling,
                                            run.cfg.seed)
        main, bpc = test[fam.metric], test.get("bits_per_char")
        run.log(f"{name}: test {fam.metric.replace('_', ' ')} {main['value']:.2f} "
                f"[{main['low']:.2f}, {main['high']:.2f}]"
                + (f", {bpc['value']:.3f} bits/char" if bpc else ""))
    run.stage(f"evaluate:{name}", work)
