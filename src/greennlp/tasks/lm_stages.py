"""The stages of the LM run (see :mod:`greennlp.tasks.lm` for the order and roles).

Every stage goes through ``run.stage``, which skips it (and reloads what it made) when
the record says it finished. Stages that only rank 0 runs are followed by a barrier
where the other ranks need their output. How each model is made is its family's
``training`` in the table: ``kneser-ney``, ``blocks`` (torch, here, under torchrun or on
Ray) or ``pretrained`` (loaded and scored as is).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from greennlp.config import section as config_section
from greennlp.data import Splits, prepare
from greennlp.evaluate.lm_eval import (
    dev_and_subsample,
    evaluate_lm,
    samples,
    scored_test_texts,
)
from greennlp.measure.hardware import usable_cpus
from greennlp.measure.peak import matmul_peak, model_flops_utilisation
from greennlp.measure.scaling import compute_optimality, summarise_sweep
from greennlp.models import family, load_model
from greennlp.models.families import higher_is_better
from greennlp.models.lm_accounting import decoder_accounting, lm_accounting
from greennlp.models.lm_tokenizer import LmTokenizer, fit_window
from greennlp.models.ngram import NgramLM
from greennlp.record import ModelResult, RunRecord, StageResult, Training, build
from greennlp.run import Run, seed_everything
from greennlp.tasks.common import data_stage
from greennlp.train import distributed
from greennlp.train.lm import token_blocks
from greennlp.train.lm_jobs import make_job, ray_cluster, run_job, run_job_on_ray

# A one-epoch run is scored on dev at this many log-spaced points, for its training curve.
CURVE_POINTS = 6
T = TypeVar("T")


class FollowerRun(Run):
    """A torchrun rank other than 0: trains with the others, measures and writes nothing."""

    def persist(self, record: RunRecord | None = None) -> None:
        return None

    def stage(self, name: str, work: Callable[[StageResult], T],
              reload: Callable[[StageResult], T] | None = None) -> T | None:
        done = self.record.stage(name)
        if done is not None:
            return reload(done) if reload else None
        return work(StageResult(name))


@dataclass
class LmContext:
    """A view of the run for the LM stages: the lm settings, the rank, the run folder."""

    run: Run

    @property
    def cfg(self):
        return self.run.cfg.lm

    @property
    def follower(self) -> bool:
        return isinstance(self.run, FollowerRun)

    def path(self, *parts: str) -> Path:
        return Path(self.run.record.run_dir).joinpath(*parts)


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
        train_texts = run.splits.texts("train")
        tok = LmTokenizer.train(train_texts, ctx.cfg.vocab_size)
        tok.save(path)
        ids = tok.encode(train_texts)
        blocks = token_blocks(ids, tok.eos_id, ctx.cfg.context_length)
        np.save(blocks_path, blocks)
        tokens = sum(len(d) + 1 for d in ids)
        st.metrics = {"vocab_size": tok.vocab_size, "train_tokens": tokens,
                      "train_chars_per_token": sum(map(len, train_texts)) / tokens,
                      "blocks": int(len(blocks)), "context_length": ctx.cfg.context_length}
        st.artifacts["tokenizer"] = str(path)
        run.log(f"tokenizer: {tok.vocab_size} tokens, {tokens:,} training tokens")
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
    """Every model of ``lm.models``, then the scaling sweep, under one Ray instance if used."""
    ctx = LmContext(run)
    with ray_cluster(ctx.cfg.executor == "ray" and not ctx.follower, ctx.cfg.workers):
        for name in ctx.cfg.models:
            _model(ctx, name)
        if ctx.cfg.scaling.enabled:
            stage_scaling(ctx)


def followers_done(run: Run) -> None:
    """A worker rank has nothing to report: rank 0 writes the record."""
    if LmContext(run).follower:
        raise SystemExit(0)


def _texts(ctx: LmContext) -> tuple[list[str], np.ndarray]:
    """Dev texts for scores during training, and the part of test SmolLM2 is scored on."""
    return dev_and_subsample(ctx.run.splits, ctx.cfg, ctx.run.cfg.seed)


def _test_texts(ctx: LmContext, test: list[str]) -> list[str]:
    """The test documents every model is scored on (``lm.test_documents`` of them)."""
    return scored_test_texts(test, ctx.cfg, ctx.run.cfg.seed)


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
            model = adapt(ctx.run, name, ctx.path("models", adapted), _texts(ctx)[0], MATMUL_NOTE)
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
                   blocks=ctx.path("data", "train_blocks.npy"), dev_texts=_texts(ctx)[0],
                   train=train_cfg, folder=folder, seed=run.cfg.seed,
                   context_length=cfg.context_length, mask_fraction=cfg.mlm.mask_fraction,
                   desc=f"train {name}", eval_points=CURVE_POINTS if train_cfg.epochs == 1 else None)

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


def add_worker_energy(run: Run, name: str, cpu_s: float) -> None:
    """Add CPU time of worker processes this process cannot see to stage ``name``.

    torchrun's other ranks and Ray's workers are not this process's children, so the
    TDP estimate (CPU-seconds x watts per thread) would miss them. RAPL and NVML read
    the whole machine, so those readings already include them.
    """
    st = run.record.stage(name)
    cpu = st.energy_detail.get("cpu", {}) if st else {}
    if not st or cpu_s <= 0 or cpu.get("method") != "estimate:tdp" or st.energy_kwh is None:
        return
    extra_kwh = cpu["watts_per_thread"] * cpu_s / 3.6e6 * run.footprint.pue
    st.energy_kwh += extra_kwh
    st.co2_kg = run.footprint.co2_kg(st.energy_kwh)
    st.cpu_time_s += cpu_s
    cpu.update(worker_cpu_s=round(cpu_s, 3),
               kwh=(cpu.get("kwh") or 0.0) + extra_kwh / run.footprint.pue)
    st.energy_method = st.energy_method.replace("cpu: estimate:tdp",
                                                "cpu: estimate:tdp (incl. worker processes)")
    run.persist()


def evaluate(run: Run, result: ModelResult, model) -> tuple[dict, dict]:
    """Dev and test perplexity / bits per character with CIs (test once), FLOPs and
    evaluation speed, into ``result``; the per-document test NLL is saved beside the model
    (``models/<name>/test_nll.npy``) for the clean-test audit. Returns (dev, test)."""
    ctx, ecfg, fam = LmContext(run), run.cfg.evaluate, family(result.family)
    dev, sub_idx = _texts(ctx)
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
        test = _test_texts(ctx, test["text"].tolist())
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


def stage_scaling(ctx: LmContext) -> None:
    """Decoders of several widths on the same tokens; power-law fits and verdicts."""
    run, cfg = ctx.run, ctx.cfg
    sweep, gpt = cfg.scaling, cfg.gpt
    tok = LmTokenizer.load(ctx.path("tokenizer.json"))
    tokens_per_step = gpt.train.batch_size * cfg.context_length * distributed.world_size()
    steps = max(1, sweep.tokens // tokens_per_step)
    worker_cpu_s = 0.0

    def sweep_widths(st) -> None:
        nonlocal worker_cpu_s
        runs = []
        for width in sweep.widths:
            spec = dict(family("gpt").spec(cfg, tok.vocab_size, tok.pad_id), d_model=width,
                        num_layers=sweep.num_layers, num_heads=max(1, width // 32), d_ff=4 * width)
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
        st.metrics = {"runs": runs, "fit": summarise_sweep(runs), "steps": steps,
                      "tokens_per_step": tokens_per_step}
        if not ctx.follower:
            fit = st.metrics["fit"]["loss_vs_params"]
            run.log(f"scaling: L(N) exponent {fit['exponent']:.3f} (r2 {fit['r2']:.2f}) over "
                    f"widths {list(sweep.widths)}")
    run.stage("scaling", sweep_widths)
    if not ctx.follower:
        add_worker_energy(run, "scaling", worker_cpu_s)


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


def stage_clean_test(run: Run) -> None:
    """Perplexity (bits per character) of every LM on the clean test documents (those
    without a near-duplicate in train), from the per-document test NLL each evaluation
    saved (no new pass over test)."""
    from greennlp.data.audit import clean_test_mask
    from greennlp.evaluate.lm_eval import subsample_index
    from greennlp.evaluate.perplexity import document_chars, lm_scores

    audit = run.record.data.get("audit")
    if not audit or LmContext(run).follower:
        return

    def work(st: StageResult) -> None:
        test, lcfg, ecfg = run.splits.texts("test"), run.cfg.lm, run.cfg.evaluate
        seed = run.cfg.seed
        clean = clean_test_mask(audit, len(test))
        scored = subsample_index(len(test), lcfg.test_documents, seed) if lcfg.test_documents \
            else np.arange(len(test))
        out = {}
        for m in run.record.models:
            path = run.run_dir / "models" / m.name / "test_nll.npy"
            if not path.exists():
                continue
            nll, fam = np.load(path), family(m.family)
            idx = scored
            if fam.as_is:  # scored on a subsample of the scored documents
                idx = scored[subsample_index(len(scored), lcfg.smollm2_documents, seed)]
            if nll.shape[1] != len(idx) or not clean[idx].any():
                continue
            keep = clean[idx]
            chars = None if fam.masked else document_chars([test[i] for i in idx[keep]])
            scores = lm_scores(nll[0][keep], nll[1][keep], chars,
                               n_samples=ecfg.bootstrap_samples, confidence=ecfg.confidence,
                               seed=seed)
            out[m.name] = {("masked_" if fam.masked else "") + k: v for k, v in scores.items()}
        audit["clean_test"] = {"examples": int(clean.sum()), "removed": int((~clean).sum()),
                               "models": out}
        st.metrics = {"clean_test_documents": int(clean.sum()), "removed": int((~clean).sum())}
    run.stage("audit:clean_test", work)
