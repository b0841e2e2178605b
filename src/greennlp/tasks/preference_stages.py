"""The stages of a preference run that make its inputs: data, prompts and pairs
(:mod:`greennlp.tasks.preference` gives the order; the judge is in
:mod:`greennlp.tasks.preference_judge`, the evaluation and training stages in
:mod:`greennlp.tasks.preference_eval`).

What a stage makes is saved under the run folder (``preference/``, ``models/judge/``) and
read back by the stages after it, so a resumed run reloads instead of recomputing.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from greennlp.errors import UserError
from greennlp.models import family
from greennlp.models.continuations import completion_logps, prompt_ids, sample, stop_ids
from greennlp.run import Run
from greennlp.tasks.common import data_stage
from greennlp.tasks.preference_judge import rewards
from greennlp.train.dpo import Pair

PAIRS_FILE, PROMPTS_FILE = "pairs.jsonl", "prompts.json"


def folder(run: Run) -> Path:
    """Where the preference stages keep prompts, pairs and generated texts."""
    return run.run_dir / "preference"


def write_jsonl(path: Path, rows: Sequence[dict]) -> Path:
    """One JSON object per line (UTF-8, non-ASCII kept readable)."""
    from greennlp.files import write_text

    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


# -- data and prompts ---------------------------------------------------------------------
def stage_data(run: Run) -> None:
    """The classification data, split as a classification run splits it."""
    data_stage(run, unit="texts", metric="rows")  # the task's prepare and selection


def beginnings(texts: Sequence[str], words: int) -> list[str]:
    """The distinct first ``words`` words of the texts longer than that, in sorted order.

    >>> beginnings(["a b c", "a b d", "x y", "p q r s"], 2)
    ['a b', 'p q']
    """
    return sorted({" ".join(t.split()[:words]) for t in texts if len(t.split()) > words})


def pick(candidates: Sequence[str], n: int, seed: int) -> list[str]:
    """``n`` of ``candidates`` in a seeded random order."""
    order = np.random.default_rng(seed).permutation(len(candidates))
    return [candidates[i] for i in order[:n]]


def stage_prompts(run: Run) -> None:
    """Train, dev and held-out test prompts: beginnings of each split's texts. A dev or test
    prompt that also begins a training text is left out, so held-out prompts are new."""
    p = run.cfg.preference

    def work(st) -> None:
        seen = set(beginnings(run.splits.train["text"].tolist(), p.prompt_words))
        out, dropped = {"train": pick(sorted(seen), p.train_prompts, run.cfg.seed)}, {}
        for split, n in (("dev", p.dev_prompts), ("test", p.test_prompts)):
            cands = beginnings(run.splits[split]["text"].tolist(), p.prompt_words)
            fresh = [c for c in cands if c not in seen]
            dropped[split] = len(cands) - len(fresh)
            out[split] = pick(fresh, n, run.cfg.seed + 1)
        for split, n in (("train", 2), ("dev", 2), ("test", 2)):
            if len(out[split]) < n:
                raise UserError(f"The {split} split of {run.cfg.data.source} gives "
                                f"{len(out[split])} prompt(s) of more than "
                                f"{p.prompt_words} words; lower preference.prompt_words or use "
                                f"more data.")
        path = folder(run) / PROMPTS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, indent=1, ensure_ascii=False), encoding="utf-8")
        st.artifacts["prompts"] = str(path)
        st.metrics = {"words": p.prompt_words, **{s: len(v) for s, v in out.items()},
                      "asked": {"train": p.train_prompts, "dev": p.dev_prompts,
                                "test": p.test_prompts},
                      "dropped_as_in_train": dropped}
        run.log(f"prompts: {len(out['train'])} train / {len(out['dev'])} dev / "
                f"{len(out['test'])} held-out test, {p.prompt_words} words each")
    run.stage("prompts", work)


def prompts(run: Run, split: str) -> list[str]:
    """The prompts of ``split`` (train, dev or test) made by the prompts stage."""
    return json.loads((folder(run) / PROMPTS_FILE).read_text(encoding="utf-8"))[split]


def reference(run: Run):
    """The reference model (the pretrained decoder as is), loaded once per process."""
    name = run.cfg.preference.model
    if name not in run.models:
        run.models[name] = family(name).build()
    return run.models[name]


def answer(run: Run, lm, prompts_: Sequence[str], k: int, seed: int) -> dict[str, Any]:
    """``k`` sampled continuations of each prompt, their texts and rewards, and the CPU
    seconds spent sampling and judging (what one answer costs)."""
    p = run.cfg.preference
    ids = prompt_ids(lm.tokenizer, prompts_)
    t0 = time.process_time()
    comps = sample(lm.module, ids, k, p.max_new_tokens, stop_ids(lm), lm.tokenizer.pad_id,
                   seed, p.batch_sampling)
    t1 = time.process_time()
    texts = [[lm.tokenizer.decode(c) for c in row] for row in comps]
    flat = rewards(run, [q for q in prompts_ for _ in range(k)], [t for row in texts for t in row])
    t2 = time.process_time()
    return {"prompt_ids": ids, "completions": comps, "texts": texts,
            "rewards": flat.reshape(len(prompts_), k), "sample_cpu_s": t1 - t0,
            "judge_cpu_s": t2 - t1, "tokens": int(sum(len(c) for row in comps for c in row))}


# -- pairs --------------------------------------------------------------------------------
def _pair_rows(got: dict[str, Any], prompts_: list[str], best: np.ndarray, worst: np.ndarray,
               ref: dict[int, tuple[float, float]], held: set[int]) -> list[dict[str, Any]]:
    """One row per prompt: its samples with their rewards, and its pair when it has one."""
    rows = []
    for i, q in enumerate(prompts_):
        row = {"prompt": q, "prompt_ids": got["prompt_ids"][i],
               "samples": [{"text": t, "ids": c, "reward": float(x)} for t, c, x in
                           zip(got["texts"][i], got["completions"][i], got["rewards"][i])]}
        if i in ref:
            row.update(chosen=int(best[i]), rejected=int(worst[i]), ref_chosen=ref[i][0],
                       ref_rejected=ref[i][1], split="held_out" if i in held else "fit")
        rows.append(row)
    return rows


def _pair_facts(got: dict[str, Any], idx: np.ndarray, best: np.ndarray, worst: np.ndarray,
                stops: list[int]) -> dict[str, Any]:
    r = got["rewards"]
    chosen, rejected = r[idx, best[idx]], r[idx, worst[idx]]
    gap = chosen - rejected
    return {"samples": int(r.size), "pairs": int(len(idx)), "no_pair": int(len(r) - len(idx)),
            "reward_mean": float(r.mean()), "chosen_reward_mean": float(chosen.mean()),
            "rejected_reward_mean": float(rejected.mean()), "gap_mean": float(gap.mean()),
            "gap_median": float(np.median(gap)), "tokens_per_sample": got["tokens"] / r.size,
            "stopped_share": float(np.mean([c[-1] in stops for row in got["completions"]
                                            for c in row])),
            "sample_cpu_s": got["sample_cpu_s"], "judge_cpu_s": got["judge_cpu_s"]}


def stage_pairs(run: Run) -> None:
    """k reference samples per train prompt, ranked by the judge: (best, worst) is a pair
    (a prompt whose samples all score the same gives none); the reference's log-probability
    of both; a seeded share of the pairs is held out to score DPO after each epoch."""
    p = run.cfg.preference

    def work(st) -> None:
        lm, train_prompts = reference(run), prompts(run, "train")
        got = answer(run, lm, train_prompts, p.samples_per_prompt, run.cfg.seed)
        r = got["rewards"]
        best, worst = r.argmax(1), r.argmin(1)
        idx = np.flatnonzero(r.max(1) > r.min(1))
        held = {int(idx[j]) for j in np.random.default_rng(run.cfg.seed).permutation(
            len(idx))[:int(round(p.val_fraction * len(idx)))]}
        if len(idx) - len(held) < 1:
            raise UserError(f"The {len(train_prompts)} train prompts gave {len(idx)} pair(s), "
                            f"too few to train on; raise preference.train_prompts or "
                            f"preference.samples_per_prompt.")
        t0 = time.process_time()
        prompt = [got["prompt_ids"][i] for i in idx]
        logps = [completion_logps(lm.module, prompt, [got["completions"][i][pick[i]] for i in idx],
                                  lm.tokenizer.pad_id) for pick in (best, worst)]
        ref = {int(i): (float(c), float(w)) for i, c, w in zip(idx, *logps)}
        path = write_jsonl(folder(run) / PAIRS_FILE,
                           _pair_rows(got, train_prompts, best, worst, ref, held))
        st.artifacts["pairs"] = str(path)
        st.metrics = {"prompts": len(train_prompts), "samples_per_prompt": p.samples_per_prompt,
                      "held_out_pairs": len(held), "max_new_tokens": p.max_new_tokens,
                      **_pair_facts(got, idx, best, worst, stop_ids(lm)),
                      "reference_logp_cpu_s": time.process_time() - t0}
        run.log(f"pairs: {len(idx)} from {len(train_prompts)} prompts x {p.samples_per_prompt} "
                f"samples ({len(held)} held out); mean reward chosen "
                f"{st.metrics['chosen_reward_mean']:.3f} vs rejected "
                f"{st.metrics['rejected_reward_mean']:.3f}")
    run.stage("pairs", work)


def load_pairs(run: Run) -> tuple[list[Pair], list[Pair]]:
    """The pairs the policies train on, and the held-out ones."""
    out: dict[str, list[Pair]] = {"fit": [], "held_out": []}
    for row in read_jsonl(folder(run) / PAIRS_FILE):
        if "split" in row:
            s = row["samples"]
            out[row["split"]].append(Pair(row["prompt_ids"], s[row["chosen"]]["ids"],
                                          s[row["rejected"]]["ids"], row["ref_chosen"],
                                          row["ref_rejected"]))
    return out["fit"], out["held_out"]
