"""The scaling sweep of an LM run (stage ``scaling``): decoders of several widths trained
on the same tokens, and the power-law fits of their dev loss (:mod:`greennlp.measure.scaling`).
"""

from __future__ import annotations

from dataclasses import replace

from greennlp.measure.scaling import summarise_sweep
from greennlp.models import family
from greennlp.models.lm_accounting import decoder_accounting
from greennlp.models.lm_tokenizer import LmTokenizer
from greennlp.run import seed_everything
from greennlp.tasks.lm_context import LmContext, add_worker_energy, dev_texts
from greennlp.train import distributed
from greennlp.train.lm_jobs import make_job, run_job, run_job_on_ray


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
                           blocks=ctx.path("data", "train_blocks.npy"), dev_texts=dev_texts(ctx)[0],
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
