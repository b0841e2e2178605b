"""The stages of a preference run that score and train: the reference and best-of-n, DPO
per beta, and the cost comparison (:mod:`greennlp.tasks.preference` gives the order).

Every model answers each prompt once (best-of-n: the best of n reference samples) and is
compared with an independent reference answer to the same prompt. Dev prompts select;
held-out test prompts are scored once per model, through ``run.test_pass``. Generated
texts and their scores are saved under ``preference/samples/``.
"""

from __future__ import annotations

import shutil
from typing import Any

import numpy as np

from greennlp.config import TrainConfig
from greennlp.evaluate.preference import (best_of, best_of_n_kl, cost_rows, preference_scores)
from greennlp.models import family, load_model
from greennlp.models.continuations import completion_logps
from greennlp.models.lora import LoraSpec, add_lora, merged
from greennlp.models.tuned_decoder import save_tuned
from greennlp.record import ModelResult, Training, build
from greennlp.run import Run, seed_everything
from greennlp.tasks.preference_stages import (answer, folder, load_pairs, prompts, read_jsonl,
                                              reference, write_jsonl)
from greennlp.train.dpo import fit_dpo

SPLITS = ("dev", "test")


def policy_name(model: str, beta: float) -> str:
    """The record's name of the DPO policy of ``model`` at ``beta`` (``smollm2_dpo_b0.1``)."""
    return f"{model}_dpo_b{beta:g}"


def best_of_name(model: str, n: int) -> str:
    return f"{model}_best_of_{n}"


def _samples_path(run: Run, name: str, split: str):
    return folder(run) / "samples" / f"{name}_{split}.jsonl"


def _save(run: Run, name: str, split: str, prompts_: list[str], texts: list[list[str]],
          rewards: np.ndarray, extra: dict[str, np.ndarray] | None = None) -> None:
    rows = []
    for i, q in enumerate(prompts_):
        row = {"prompt": q, "answers": [{"text": t, "reward": float(r)}
                                        for t, r in zip(texts[i], rewards[i])]}
        for key, values in (extra or {}).items():
            row[key] = float(values[i])
        rows.append(row)
    write_jsonl(_samples_path(run, name, split), rows)


def _baseline(run: Run, split: str) -> np.ndarray:
    """Rewards of the independent reference answers every model is compared with."""
    rows = read_jsonl(_samples_path(run, run.cfg.preference.model, split))
    return np.array([r["answers"][0]["reward"] for r in rows])


def _kw(run: Run) -> dict[str, Any]:
    e = run.cfg.evaluate
    return {"n_samples": e.bootstrap_samples, "confidence": e.confidence, "seed": run.cfg.seed}


def _costs(got: dict[str, Any], answers: int) -> dict[str, float]:
    """CPU seconds of one answer (sampling and judging) and its tokens."""
    return {"sample_cpu_s_per_answer": got["sample_cpu_s"] / answers,
            "judge_cpu_s_per_answer": got["judge_cpu_s"] / answers,
            "tokens_per_answer": got["tokens"] / answers, "answers": answers}


def _examples(run: Run, name: str) -> list[dict[str, Any]]:
    """The first ``texts_shown`` held-out answers of model ``name`` (its saved test samples;
    the reference's own answer is its second sample) beside the baseline answer's reward."""
    rows = read_jsonl(_samples_path(run, name, "test"))
    own = 1 if name == run.cfg.preference.model else 0
    base = _baseline(run, "test")
    return [{"prompt": r["prompt"], "text": r["answers"][own]["text"],
             "reward": r["answers"][own]["reward"], "reference_reward": float(b)}
            for r, b in list(zip(rows, base))[:run.cfg.preference.texts_shown]]


# -- the reference and best-of-n ----------------------------------------------------------
def _reference_split(run: Run, split: str, k: int) -> dict[str, Any]:
    """``k`` reference samples per prompt of ``split``: the baseline answer (sample 0), the
    reference's own answer (sample 1) and, with those after it, best-of-n for ``n < k``."""
    p = run.cfg.preference
    qs = prompts(run, split)
    got = answer(run, reference(run), qs, k, run.cfg.seed + (11 if split == "dev" else 13))
    r = got["rewards"]
    _save(run, p.model, split, qs, got["texts"], r)
    kw = _kw(run)
    scores = {p.model: preference_scores(r[:, 1], r[:, 0], None, **kw)}
    scores[p.model]["kl"] = {"value": 0.0, "low": 0.0, "high": 0.0}  # the reference itself
    for n in (n for n in p.best_of if n < k):
        pick = 1 + best_of(r[:, 1:], n)
        s = preference_scores(r[np.arange(len(r)), pick], r[:, 0], None, **kw)
        s["kl"] = dict.fromkeys(("value", "low", "high"), best_of_n_kl(n))  # analytical
        scores[best_of_name(p.model, n)] = s
    return {"scores": scores, "costs": _costs(got, len(qs) * k)}


def stage_reference(run: Run) -> None:
    """The reference as is (``evaluate:<model>``), and best-of-n from the same samples."""
    p = run.cfg.preference

    def work(st) -> None:
        lm = reference(run)
        dev = _reference_split(run, "dev", 2)  # dev selects among policies: no best-of-n
        k = 1 + max((1, *p.best_of))
        test = run.test_pass(p.model, lambda _: _reference_split(run, "test", k))
        counts = lm.parameter_counts()
        base = ModelResult(name=p.model, family=p.model, params_total=counts["total"],
                           params_non_embedding=counts["non_embedding"],
                           dev=dev["scores"][p.model], test=test["scores"][p.model],
                           efficiency=test["costs"], stages=[f"evaluate:{p.model}"],
                           training=Training(steps=0))
        run.record.add_model(base)
        for n in p.best_of:
            name = best_of_name(p.model, n)
            per = {k: v * n if k.endswith("per_answer") else v for k, v in test["costs"].items()}
            run.record.add_model(ModelResult(  # not a candidate for selection: no dev score
                name=name, family=p.model, params_total=counts["total"],
                test=test["scores"][name], efficiency=dict(per, best_of=n),
                stages=[f"evaluate:{p.model}"], training=Training(steps=0)))
        st.metrics = {"samples_per_prompt": {"dev": 2, "test": k},
                      "dev_costs": dev["costs"], "test_costs": test["costs"],
                      "examples": {p.model: _examples(run, p.model)}}
        _log_scores(run, p.model, base.test)
    run.stage(f"evaluate:{p.model}", work)


def _log_scores(run: Run, name: str, test: dict) -> None:
    run.log(f"{name}: held-out reward {test['reward']['value']:.3f}, win rate "
            f"{test['win_rate']['value']:.3f}, KL {test['kl']['value']:.2f} nats")


# -- DPO policies ------------------------------------------------------------------------
def _policy_split(run: Run, lm, split: str, seed: int, name: str) -> dict[str, Any]:
    """One answer per prompt of ``split`` by the policy ``lm``: reward, win rate against the
    reference's baseline answer, and KL from the reference (log-ratios of the answers)."""
    qs = prompts(run, split)
    got = answer(run, lm, qs, 1, seed)
    ids, comps = got["prompt_ids"], [row[0] for row in got["completions"]]
    pad = lm.tokenizer.pad_id
    ratio = (completion_logps(lm.module, ids, comps, pad)
             - completion_logps(reference(run).module, ids, comps, pad))
    r, base = got["rewards"][:, 0], _baseline(run, split)
    _save(run, name, split, qs, got["texts"], got["rewards"], {"log_ratio": ratio})
    return {"scores": preference_scores(r, base, ratio, **_kw(run)),
            "costs": _costs(got, len(qs))}


def evaluate_policy(run: Run, result: ModelResult, lm) -> tuple[dict, dict]:
    """Score policy ``lm`` on dev and, once, on the held-out test prompts; fills ``result``."""
    seed = run.cfg.seed + 17  # every policy the same seeds: differences are the policies'
    dev = _policy_split(run, lm, "dev", seed, result.name)
    test = run.test_pass(result.name, lambda _: _policy_split(run, lm, "test", seed + 1,
                                                              result.name))
    result.dev, result.test = dev["scores"], test["scores"]
    result.efficiency = test["costs"]
    return result.dev, result.test


def _train(run: Run, beta: float):
    """The stage ``train:<policy>``: DPO of a fresh copy of the model at ``beta``."""
    p = run.cfg.preference
    name = policy_name(p.model, beta)
    where = run.run_dir / "models" / name
    spec = LoraSpec(p.lora_rank, p.lora_alpha, tuple(p.lora_targets)) if p.lora else None

    def work(st):
        seed_everything(run.cfg.seed)
        lm = family(p.model).build()
        trained = add_lora(lm.module, spec) if spec else lm.module
        fit, held = load_pairs(run)
        cfg = TrainConfig(epochs=1, batch_size=p.batch_size, lr=p.lr, weight_decay=0.0,
                          warmup_fraction=p.warmup_fraction, patience=p.patience,
                          max_steps=p.steps, min_steps=0)
        info = fit_dpo(trained, fit, held, beta, cfg, lm.tokenizer.pad_id, where / "checkpoints",
                       seed=run.cfg.seed, desc=f"dpo {name}")
        facts = {"method": "dpo", "beta": beta, "lora": spec.describe() if spec else None}
        save_tuned(where / "final", lm, trained, p.model, spec, facts)
        shutil.rmtree(where / "checkpoints", ignore_errors=True)  # final/ holds the best
        lm.module = merged(trained).eval() if spec else trained.eval()
        counts = lm.parameter_counts()
        run.record.add_model(ModelResult(
            name=name, family=p.model, params_total=counts["total"],
            params_non_embedding=counts["non_embedding"], checkpoint=str(where / "final"),
            stages=[f"train:{name}", f"evaluate:{name}"],
            training=build(Training, {**{k: v for k, v in info.items() if k != "config"},
                                      "seed": run.cfg.seed,
                                      "finished": True})))
        st.metrics = {k: v for k, v in info.items() if k not in ("history", "config")}
        kept = info["held_out"][info["best_epoch"] - 1] if info["best_epoch"] > 0 else {}
        run.log(f"{name}: {info['steps']} DPO steps (epoch {info['best_epoch']} kept), held-out "
                f"reward accuracy {kept.get('reward_accuracy', float('nan')):.2f}")
        return lm

    return run.stage(f"train:{name}", work, reload=lambda st: load_model(where / "final"))


def stage_policies(run: Run) -> None:
    """Train and score one DPO policy per beta."""
    for beta in run.cfg.preference.betas:
        name = policy_name(run.cfg.preference.model, beta)
        lm = _train(run, beta)

        def work(st, lm=lm, name=name) -> None:
            result = run.record.model(name)
            run.task.evaluate(run, result, lm)
            run.record.add_model(result)
            st.metrics = {"dev": result.dev, "test": result.test, "costs": result.efficiency,
                          "examples": {name: _examples(run, name)}}
            _log_scores(run, name, result.test)
        run.stage(f"evaluate:{name}", work)
        run.models.pop(name, None)


# -- cost at equal work ------------------------------------------------------------------
def _stage_costs(run: Run, names: list[str]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key in ("energy_kwh", "co2_kg", "cost_usd"):
        values = [getattr(run.record.stage(n), key) for n in names if run.record.stage(n)]
        out[key] = None if any(v is None for v in values) else float(sum(values))
    return out


def _per_cpu_second(run: Run, stage: str) -> dict[str, float | None]:
    """A stage's energy, CO2e and money per CPU second: how an answer's measured CPU time
    is priced (the stage also scored KL and dev prompts, which answers do not need)."""
    st = run.record.stage(stage)
    cpu = st.cpu_time_s if st and st.cpu_time_s else None
    return {k: (getattr(st, k) / cpu if cpu and getattr(st, k) is not None else None)
            for k in ("energy_kwh", "co2_kg", "cost_usd")}


def stage_compare(run: Run) -> None:
    """DPO against best-of-n and the reference at equal work: what making each method cost
    (fixed), what one answer costs, the total for 1M answers, and the break-even count."""
    p = run.cfg.preference

    def work(st) -> None:
        methods = []
        for m in run.record.models:
            if "reward" not in m.test:  # the judge
                continue
            n = m.efficiency.get("best_of")
            price = _per_cpu_second(run, f"evaluate:{p.model if n else m.name}")
            cpu = m.efficiency["sample_cpu_s_per_answer"]
            if n:  # best-of-n judges its n samples to answer; the others answer without it
                cpu += m.efficiency["judge_cpu_s_per_answer"]
            made = (["judge"] if n else [] if m.name == p.model
                    else ["judge", "pairs", f"train:{m.name}"])
            methods.append({"name": m.name, "fixed": _stage_costs(run, made), "made_by": made,
                            "answer_cpu_s": cpu,
                            "per_answer": {k: (v * cpu if v is not None else None)
                                           for k, v in price.items()},
                            "reward": m.test["reward"], "win_rate": m.test["win_rate"],
                            "kl": m.test["kl"]})
        st.metrics = {"rows": cost_rows(methods)}
    run.stage("compare", work)
