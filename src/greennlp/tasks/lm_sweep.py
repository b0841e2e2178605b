"""The sweep over temperature sampling (stages ``sweep:alpha=<a>`` and ``sweep:alpha``).

For every alpha of ``lm.language_sweep.alphas`` the LM run learns a tokenizer on the
training texts resampled by language, cuts the training stream into token blocks
weighted by language, and trains one model (``lm.language_sweep.model``) on the same
number of blocks: the same compute, another mix. Each model is scored per language on
dev (where the alpha is chosen) and on the test text every model is scored on (once per
alpha, counted as an audit pass), at most ``lm.language_sweep.documents_per_language``
documents of each language: every document of the tail, a seeded sample of the head,
the same for every alpha (on the built-in fortunes, scoring the whole splits made each
alpha take 522-544 s instead of 399-413 s, for the same best alpha and changes within
0.3 points). The summary stage picks the alpha
with the lowest mean dev bits per character over languages and measures, per language,
the relative change of test bits per character against alpha = 1 with paired intervals
(Conneau et al. 2020: the tail gains what the head loses).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from greennlp.config import section as config_section
from greennlp.data.languages import capped_per_language, characters_by_language
from greennlp.evaluate import languages as per_language
from greennlp.evaluate.lm_eval import score
from greennlp.evaluate.perplexity import document_chars
from greennlp.models import family
from greennlp.models.lm_tokenizer import LmTokenizer, fit_window
from greennlp.record import AUDIT
from greennlp.run import seed_everything
from greennlp.tasks.lm_context import LmContext, add_worker_energy, dev_texts, scored_test
from greennlp.tasks.lm_languages import (WEIGHTS_FILE, boot, sampled_blocks, scored_languages,
                                         split_languages, tokenizer_texts)
from greennlp.train.lm import token_blocks
from greennlp.train.lm_jobs import make_job, run_job

SUMMARY = "sweep:alpha"


def stage_language_sweep(ctx: LmContext) -> None:
    """One stage per alpha, then the summary (rank 0 only; nothing without languages)."""
    run, sweep = ctx.run, ctx.cfg.language_sweep
    if not sweep.alphas or ctx.follower:
        return
    if split_languages(run, "train") is None:
        run.note("lm.language_sweep skipped: the data has no language column (set "
                 "data.language_column).")
        return
    for alpha in sweep.alphas:
        _point(ctx, float(alpha))
    run.stage(SUMMARY, lambda st: _summary(ctx, st))


def _protocol(ctx: LmContext, model):
    protocol = ctx.cfg.evaluation
    if getattr(model, "context_length", 0) is None:  # an LSTM: the decoder's window
        window, stride = fit_window(protocol.window, protocol.stride, ctx.cfg.context_length)
        protocol = replace(protocol, window=window, stride=stride)
    return protocol


def _point(ctx: LmContext, alpha: float) -> None:
    run, cfg, sweep = ctx.run, ctx.cfg, ctx.cfg.language_sweep
    folder = ctx.path("sweep", f"alpha_{alpha:g}")
    name = f"sweep:alpha={alpha:g}"

    def work(st) -> float:
        folder.mkdir(parents=True, exist_ok=True)
        tok = LmTokenizer.train(tokenizer_texts(run, alpha), cfg.vocab_size)
        tok.save(folder / "tokenizer.json")
        ids = tok.encode(run.splits.texts("train"))
        blocks = token_blocks(ids, tok.eos_id, cfg.context_length)
        np.save(folder / "blocks.npy", blocks)
        facts = sampled_blocks(run, tok, ids, len(blocks), cfg.context_length, alpha,
                               folder / WEIGHTS_FILE)
        fam = family(sweep.model)
        train = replace(config_section(run.cfg, fam.section).train, epochs=1,
                        max_steps=sweep.steps)
        job = make_job(family=sweep.model, spec=fam.spec(cfg, tok.vocab_size, tok.pad_id),
                       tokenizer=folder / "tokenizer.json", blocks=folder / "blocks.npy",
                       dev_texts=dev_texts(ctx)[0], train=train, folder=folder / "model",
                       seed=run.cfg.seed, context_length=cfg.context_length,
                       desc=f"alpha={alpha:g}", block_weights=(
                           folder / WEIGHTS_FILE if (folder / WEIGHTS_FILE).exists() else None))
        seed_everything(run.cfg.seed)
        model, info = run_job(job)
        protocol, ecfg = _protocol(ctx, model), run.cfg.evaluate
        dev, dev_langs = _capped(ctx, run.splits.texts("dev"), split_languages(run, "dev"))
        dev_nll = score(model, dev, ecfg, run.cfg.seed, protocol=protocol)[1]
        test, test_langs = _capped(ctx, run.test_pass(
            AUDIT + name, lambda t: scored_test(ctx, t["text"].tolist())), _test_languages(ctx))
        test_nll = score(model, test, ecfg, run.cfg.seed, protocol=protocol)[1]
        np.save(folder / "dev_nll.npy", dev_nll)
        np.save(folder / "test_nll.npy", test_nll)
        st.metrics = {
            "alpha": alpha, **facts, "model": sweep.model, "steps": info["steps"],
            "tokens_trained": info["tokens_trained"], "train_time_s": info["train_time_s"],
            "dev": per_language.bits_per_char(dev_nll[0], document_chars(dev),
                                              dev_langs, **boot(run)),
            "test": per_language.bits_per_char(test_nll[0], document_chars(test), test_langs,
                                               **boot(run))}
        run.log(f"alpha={alpha:g}: {info['tokens_trained']:,} tokens; dev bits/char "
                + ", ".join(f"{k} {v['bits_per_char']['value']:.2f}"
                            for k, v in st.metrics["dev"].items()))
        return info.get("worker_cpu_s", 0.0)
    if run.record.stage(name) is None:
        cpu_s = run.stage(name, work)
        add_worker_energy(run, name, cpu_s or 0.0)


def _test_languages(ctx: LmContext) -> list[str]:
    return scored_languages(ctx.run, "test", ctx.cfg.test_documents, ctx.cfg.evaluation)


def _capped(ctx: LmContext, texts: list[str], langs: list[str]) -> tuple[list[str], list[str]]:
    """The texts (and their languages) every alpha is scored on: at most
    ``lm.language_sweep.documents_per_language`` of each language, the same for every
    alpha."""
    keep = capped_per_language(langs, ctx.cfg.language_sweep.documents_per_language,
                               ctx.run.cfg.seed)
    return [texts[i] for i in keep], [langs[i] for i in keep]


def _summary(ctx: LmContext, st) -> None:
    run, cfg = ctx.run, ctx.cfg
    alphas = [float(a) for a in cfg.language_sweep.alphas]
    points = {a: run.record.stage(f"sweep:alpha={a:g}").metrics for a in alphas}
    dev_bpc = {a: {k: v["bits_per_char"]["value"] for k, v in p["dev"].items()}
               for a, p in points.items()}
    test_nll = {a: np.load(ctx.path("sweep", f"alpha_{a:g}", "test_nll.npy"))[0]
                for a in alphas}
    scored = _test_languages(ctx)
    langs = _capped(ctx, scored, scored)[1]
    sizes = characters_by_language(run.splits.texts("train"), split_languages(run, "train"))
    st.metrics = per_language.alpha_tradeoff(dev_bpc, test_nll, langs, sizes, **boot(run))
    st.metrics["sizes"] = sizes
    best, change = st.metrics["best_alpha"], st.metrics["change_at_best"]
    run.log(f"sweep: best alpha on dev {best:g}; test bits/char change against alpha="
            f"{st.metrics['reference_alpha']:g}: " + ", ".join(
                f"{k} {100 * change[k]['value']:+.1f}%"
                for k in st.metrics["smallest"] + st.metrics["largest"]))
