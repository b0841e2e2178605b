"""The stages of the LM run (see :mod:`greennlp.pipeline_lm` for the order and roles).

Every stage skips itself when the record says it finished (``--resume``). Stages that
only rank 0 runs are followed by a barrier where the other ranks need their output.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import replace

import numpy as np

from greennlp.pipeline import seed_everything
from greennlp.pipeline_lm import LmContext, add_worker_energy, model_result, save_nll
from greennlp.record import StageResult
from greennlp.train import distributed

DECODERS = ("gpt", "lstm", "smollm2", "ngram")  # the models that can write text
# A one-epoch run is scored on dev at this many log-spaced points, for its training curve.
CURVE_POINTS = 6


def _stage(ctx: LmContext, name: str):
    """Rank 0 measures and records the stage; other ranks just run it."""
    return nullcontext(StageResult(name)) if ctx.follower else ctx.run.stage(name)


def stage_corpus(ctx: LmContext) -> None:
    """Load, clean and split the corpus (rank 0); the others read the saved splits."""
    from greennlp.data.corpus import CorpusSplits, prepare_corpus

    run, folder = ctx.run, ctx.path("data")
    finished = run.record.stage("data") is not None
    if not finished and not ctx.follower:
        with run.stage("data") as st:
            ctx.splits, summary = prepare_corpus(ctx.cfg.corpus, run.cfg.seed)
            ctx.splits.save(folder)
            run.record.data = summary
            st.metrics = {"documents": summary["stats"]["size"], **summary["split"]["sizes"]}
            st.artifacts["splits"] = str(folder)
        sizes = summary["split"]["sizes"]
        run.log(f"data: {summary['stats']['size']} documents, split by blocks into "
                f"{sizes['train']} / {sizes['dev']} / {sizes['test']}")
    if not finished:
        distributed.barrier()
    if ctx.splits is None:
        ctx.splits = CorpusSplits.load(folder, run.record.data.get("split", {}))


def stage_tokenizer(ctx: LmContext) -> None:
    """Byte-level BPE on train, and the training stream cut into context-sized blocks."""
    from greennlp.models.lm_tokenizer import LmTokenizer
    from greennlp.train.lm import token_blocks

    run, cfg = ctx.run, ctx.cfg
    path, blocks_path = ctx.path("tokenizer.json"), ctx.path("data", "train_blocks.npy")
    finished = run.record.stage("tokenizer") is not None
    if not finished and not ctx.follower:
        with run.stage("tokenizer") as st:
            tok = LmTokenizer.train(ctx.splits.train, cfg.vocab_size)
            tok.save(path)
            ids = tok.encode(ctx.splits.train)
            blocks = token_blocks(ids, tok.eos_id, cfg.context_length)
            np.save(blocks_path, blocks)
            tokens = sum(len(d) + 1 for d in ids)
            st.metrics = {"vocab_size": tok.vocab_size, "train_tokens": tokens,
                          "train_chars_per_token": sum(map(len, ctx.splits.train)) / tokens,
                          "blocks": int(len(blocks)), "context_length": cfg.context_length}
            st.artifacts["tokenizer"] = str(path)
        run.log(f"tokenizer: {tok.vocab_size} tokens, {tokens:,} training tokens")
    if not finished:
        distributed.barrier()
    ctx.tokenizer = LmTokenizer.load(path)


def stage_peak(ctx: LmContext) -> None:
    """This machine's fp32 matmul rate with every usable core (for MFU)."""
    import torch

    from greennlp.measure.hardware import usable_cpus
    from greennlp.measure.peak import matmul_peak

    if ctx.run.record.stage("benchmark:matmul"):
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(usable_cpus())
    try:
        with ctx.run.stage("benchmark:matmul") as st:
            st.metrics = matmul_peak()
    finally:
        torch.set_num_threads(threads)
    ctx.run.log(f"matmul peak: {st.metrics['gflops_median']:.0f} GFLOP/s fp32 (median of "
                f"{st.metrics['repeats']})")


def peak_gflops(ctx: LmContext) -> float | None:
    st = ctx.run.record.stage("benchmark:matmul")
    return st.metrics["gflops_median"] if st else None


def spec_for(ctx: LmContext, name: str) -> tuple[str, dict]:
    """Accounting family and model config of ``name`` with the shared vocabulary."""
    from greennlp.config_lm import model_spec

    return model_spec(ctx.cfg, name, ctx.tokenizer.vocab_size, ctx.tokenizer.pad_id)


def _texts(ctx: LmContext) -> tuple[list[str], list[str], np.ndarray]:
    """Dev texts for scores during training, test texts, and the SmolLM2 subsample."""
    from greennlp.evaluate.lm_eval import subsample_index

    cfg, seed, splits = ctx.cfg, ctx.run.cfg.seed, ctx.splits
    dev = [splits.dev[i] for i in subsample_index(len(splits.dev), cfg.dev_documents, seed)]
    test = splits.test
    if cfg.test_documents:
        test = [test[i] for i in subsample_index(len(test), cfg.test_documents, seed)]
    return dev, test, subsample_index(len(test), cfg.smollm2_documents, seed)


def stage_model(ctx: LmContext, name: str) -> None:
    """Train (or load) and evaluate one model; rank 0 alone for the untrained ones."""
    if ctx.run.record.stage(f"evaluate:{name}"):
        return
    if name in ("ngram", "smollm2"):
        if not ctx.follower:
            model = _fit_ngram(ctx) if name == "ngram" else _load_smollm2(ctx)
            if model is not None:
                _evaluate(ctx, name, model)
        return
    model = _train_torch(ctx, name)
    if not ctx.follower:
        _evaluate(ctx, name, model)


def _fit_ngram(ctx: LmContext):
    from greennlp.models.ngram import KneserNeyLM, NgramLM

    run, folder = ctx.run, ctx.path("models", "ngram", "final")
    if run.record.stage("train:ngram"):
        return NgramLM.load(folder)
    tok, ncfg = ctx.tokenizer, ctx.cfg.ngram
    with run.stage("train:ngram") as st:
        t0 = time.perf_counter()
        kn = KneserNeyLM(ncfg.order, ncfg.discount).fit(tok.encode(ctx.splits.train),
                                                        tok.vocab_size, tok.eos_id,
                                                        tok.unpredictable_ids)
        info = {"order": ncfg.order, "discounts": [d.tolist() for d in kn.discounts_],
                "tokens_trained": kn.tokens_trained_, "train_time_s": time.perf_counter() - t0}
        model = NgramLM(kn, tok)
        model.save(folder)
        run.record.add_model(model_result(ctx, "ngram", model, None, info, folder))
        st.metrics = dict(info, ngrams=model.parameter_counts()["total"])
    return model


def _load_smollm2(ctx: LmContext):
    from greennlp.models import smollm2

    run = ctx.run
    if not smollm2.is_converted() and smollm2.missing_packages():
        note = (f"smollm2 skipped: the pretrained extra is not installed "
                f"({smollm2.INSTALL_HINT})")
        if note not in run.record.notes:
            run.record.notes.append(note)
        run.log(note)
        return None
    if run.record.stage("load:smollm2"):
        return smollm2.load_smollm2()
    with run.stage("load:smollm2") as st:
        cached = smollm2.is_converted()
        model = smollm2.load_smollm2()
        info = {"source": smollm2.DESCRIPTION, "converted_now": not cached, "trained": False}
        run.record.add_model(model_result(ctx, "smollm2", model, {}, info, smollm2.converted_dir()))
        run.record.model("smollm2").stages = ["load:smollm2"]
        st.metrics = info
    return model


def _train_torch(ctx: LmContext, name: str):
    """Train gpt / lstm / bert_mlm here (alone or with the other torchrun ranks) or on Ray."""
    from greennlp.measure.peak import model_flops_utilisation
    from greennlp.measure.scaling import compute_optimality
    from greennlp.models.lm_accounting import lm_accounting
    from greennlp.train.lm_jobs import load_trained, make_job, run_job, run_job_on_ray

    run, cfg, folder = ctx.run, ctx.cfg, ctx.path("models", name)
    family, spec = spec_for(ctx, name)
    section = getattr(cfg, "mlm" if name == "bert_mlm" else name)
    job = make_job(family=name, spec=spec,
                   tokenizer=ctx.path("tokenizer.json"), blocks=ctx.path("data", "train_blocks.npy"),
                   dev_texts=_texts(ctx)[0], train=section.train,
                   folder=folder, seed=run.cfg.seed, context_length=cfg.context_length,
                   mask_fraction=cfg.mlm.mask_fraction, desc=f"train {name}",
                   eval_points=CURVE_POINTS if section.train.epochs == 1 else None)
    if run.record.stage(f"train:{name}"):
        return None if ctx.follower else load_trained(job)
    seed_everything(run.cfg.seed)
    with _stage(ctx, f"train:{name}") as st:
        if cfg.executor == "ray" and not distributed.active():
            info = run_job_on_ray(job, cfg.workers)
            model = load_trained(job)
        else:
            model, info = run_job(job)
        acc = lm_accounting(family, spec, cfg.context_length)
        info.update(accounting=acc, compute_optimality=compute_optimality(
            acc["params_total"], info["tokens_trained"]))
        peak = peak_gflops(ctx)
        if peak and info.get("tokens_per_s"):
            info["mfu"] = model_flops_utilisation(acc["training_flops_per_token"],
                                                  info["tokens_per_s"], peak)
        st.metrics = {k: v for k, v in info.items() if k not in ("history", "config")}
    if not ctx.follower:
        run.record.add_model(model_result(ctx, name, model, acc, info, folder / "final"))
        add_worker_energy(run, f"train:{name}", info.get("worker_cpu_s", 0.0))
        run.log(f"{name}: {info['tokens_trained']:,} tokens, "
                f"{info.get('tokens_per_s') or 0:,.0f} tokens/s"
                + (f" ({info['mfu']:.1%} of the matmul peak)" if info.get("mfu") else ""))
    return model


def _evaluate(ctx: LmContext, name: str, model) -> None:
    """Dev and test perplexity / bits per character with CIs, speed, samples."""
    from greennlp.evaluate.lm_eval import evaluate_lm, samples

    run, ecfg = ctx.run, ctx.run.cfg.evaluate
    dev, test, sub_idx = _texts(ctx)
    result = run.record.model(name)
    with run.stage(f"evaluate:{name}") as st:
        if name == "smollm2":
            res = evaluate_lm(model, [], [test[i] for i in sub_idx], sub_idx, ecfg, run.cfg.seed,
                              test_is_subsample=True)
        else:
            res = evaluate_lm(model, dev, test, sub_idx, ecfg, run.cfg.seed,
                              causal=name != "bert_mlm")
        run.record.test_evaluations += 1
        result.dev, result.test = res["dev"], res["test"]
        acc = result.training.get("accounting") or {}
        if name == "smollm2":
            from greennlp.models.lm_accounting import lm_accounting

            acc = lm_accounting("llama", model.spec, ctx.cfg.context_length)
        tokens_per_doc = float(res["nll"][1].mean())
        result.flops_per_example = acc.get("forward_flops_per_token", 0.0) * tokens_per_doc
        result.efficiency = {"eval_tokens_per_s": res["eval_tokens_per_s"],
                             "forward_flops_per_token": acc.get("forward_flops_per_token"),
                             "training_flops_per_token": acc.get("training_flops_per_token"),
                             "test_documents": int(res["nll"].shape[1])}
        result.stages.append(f"evaluate:{name}")
        st.metrics = {f"test_{k}": v["value"] for k, v in res["test"].items()}
        if name in DECODERS:
            st.metrics["samples"] = samples(model, ctx.cfg.sampling.prompts, ctx.cfg.sampling,
                                            run.cfg.seed)
        save_nll(ctx, name, res["nll"])
    main = "masked_perplexity" if name == "bert_mlm" else "perplexity"
    ppl, bpc = res["test"][main], res["test"].get("bits_per_char")
    run.log(f"{name}: test {main.replace('_', ' ')} {ppl['value']:.2f} [{ppl['low']:.2f}, "
            f"{ppl['high']:.2f}]" + (f", {bpc['value']:.3f} bits/char" if bpc else ""))


def stage_scaling(ctx: LmContext) -> None:
    """Decoders of several widths on the same tokens; power-law fits and verdicts."""
    from greennlp.measure.scaling import summarise_sweep
    from greennlp.models.lm_accounting import decoder_accounting
    from greennlp.train.lm_jobs import make_job, run_job, run_job_on_ray

    run, cfg = ctx.run, ctx.cfg
    if run.record.stage("scaling"):
        return
    sweep, gpt = cfg.scaling, cfg.gpt
    tokens_per_step = gpt.train.batch_size * cfg.context_length * distributed.world_size()
    steps = max(1, sweep.tokens // tokens_per_step)
    runs, worker_cpu_s = [], 0.0
    with _stage(ctx, "scaling") as st:
        for width in sweep.widths:
            spec = dict(spec_for(ctx, "gpt")[1], d_model=width, num_layers=sweep.num_layers,
                        num_heads=max(1, width // 32), d_ff=4 * width)
            job = make_job(family="gpt", spec=spec, tokenizer=ctx.path("tokenizer.json"),
                           blocks=ctx.path("data", "train_blocks.npy"), dev_texts=_texts(ctx)[0],
                           train=replace(gpt.train, epochs=1, max_steps=steps),
                           folder=ctx.path("scaling", f"d{width}"), seed=run.cfg.seed,
                           context_length=cfg.context_length, eval_points=sweep.eval_points,
                           desc=f"scaling d_model={width}")
            seed_everything(run.cfg.seed)
            if cfg.executor == "ray" and not distributed.active():
                info = run_job_on_ray(job, cfg.workers)
            else:
                info = run_job(job)[1]
            worker_cpu_s += info.get("worker_cpu_s", 0.0)
            runs.append(_sweep_point(width, decoder_accounting(spec, cfg.context_length), info,
                                     tokens_per_step))
        if not ctx.follower:
            st.metrics = {"runs": runs, "fit": summarise_sweep(runs), "steps": steps,
                          "tokens_per_step": tokens_per_step}
    if not ctx.follower:
        add_worker_energy(run, "scaling", worker_cpu_s)
        fit = st.metrics["fit"]["loss_vs_params"]
        run.log(f"scaling: L(N) exponent {fit['exponent']:.3f} (r2 {fit['r2']:.2f}) over "
                f"widths {list(sweep.widths)}")


def _sweep_point(width: int, acc: dict, info: dict, tokens_per_step: int) -> dict:
    per_token = acc["training_flops_per_token"]
    curve = [{"steps": h["steps"], "tokens": h["steps"] * tokens_per_step, "loss": -h["dev_score"],
              "compute_flops": per_token * h["steps"] * tokens_per_step} for h in info["history"]]
    return {"width": width, "params_total": acc["params_total"],
            "params_non_embedding": acc["params_non_embedding"],
            "tokens_trained": info["tokens_trained"], "final_loss": curve[-1]["loss"],
            "curve": curve, "tokens_per_s": info.get("tokens_per_s"),
            "train_time_s": info.get("train_time_s"),
            "training_flops_per_token": per_token}
