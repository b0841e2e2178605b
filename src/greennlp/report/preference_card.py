"""MODEL_CARD.md and DATASHEET.md of a preference run (``task: preference``), from the
record alone. The card says what the judge was, how accurate it is on its own test data,
and that the reward is a classifier's judgement, not a person's; the datasheet describes
the prompts and the preference pairs as well as the data they come from."""

from __future__ import annotations

from greennlp.record import ModelResult, RunRecord
from greennlp.report.card_facts import card_license, published_origin
from greennlp.report.markdown import md, md_code
from greennlp.report.model_card import environmental_impact, with_front_matter
from greennlp.report.preference_views import cost_rows, facts, model_rows, verdicts
from greennlp.report.views import ci, fmt, is_estimate, model_costs


def front_matter(record: RunRecord, best: ModelResult) -> dict:
    """The card's metadata, claiming only what the record shows."""
    from huggingface_hub import ModelCardData

    extra = {}
    co2 = model_costs(record, best)["train_co2_kg"]
    if co2 is not None:
        extra["co2_eq_emissions"] = {
            "emissions": round(co2 * 1000, 6), "training_type": "fine-tuning",
            "source": ("greennlp " + ("estimate" if is_estimate(record) else "measurement")
                       + " of this model's DPO training (the pairs are not included); "
                       + record.footprint.get("carbon_intensity_source", "")),
            "geographical_location": record.config.get("measure", {}).get("region", "world")}
    return ModelCardData(
        language=["en"], license=card_license(record, best)["license"],
        pipeline_tag="text-generation", tags=["text-generation", "dpo", "preference-tuning",
                                              "greennlp"],
        model_name=f"greennlp-{record.run_id}-{best.name}", **extra).to_dict()


def judge_lines(record: RunRecord) -> list[str]:
    """What the judge was, its accuracy, and what its reward is not."""
    j = facts(record, "judge")
    return [
        f"- Judge: {md(j.get('family'))} ({md(j.get('source'))}), trained on "
        f"{md(j.get('data_origin'))}; classes {md(', '.join(j.get('labels', [])))}; dev accuracy "
        f"{ci(j.get('dev_accuracy'))}, test accuracy {ci(j.get('test_accuracy'))} (95% CI).",
        f"- Reward: the judge's probability of {md(j.get('target'))} for prompt + continuation. "
        "It is a classifier's judgement, not a person's: a policy that raises it writes what "
        "this classifier rewards, which need not be what readers prefer, and it inherits the "
        f"classifier's errors ({_misjudged(j.get('test_accuracy'))} of its test texts "
        "misjudged)."]


def _misjudged(accuracy: dict | None) -> str:
    return "an unknown share" if not accuracy else f"{100 * (1 - accuracy['value']):.1f}%"


def _table(record: RunRecord) -> list[str]:
    lines = ["| model | answers by | held-out reward | win rate vs reference | KL (nats) | "
             "kWh per 1M answers |", "|---|---|---|---|---|---|"]
    per_m = {r["name"]: r["per_million"].get("energy_kwh") for r in cost_rows(record)}
    for r in model_rows(record):
        kl = f"<= {r['kl']['value']:.2f}" if r["kl_analytic"] else ci(r["kl"], 2)
        lines.append(f"| {r['name']} | {r['kind']} | {ci(r['reward'])} | {ci(r['win_rate'])} | "
                     f"{kl} | {fmt(per_m.get(r['name']))} |")
    return lines


def render_card(record: RunRecord) -> str:
    """MODEL_CARD.md text for a preference run."""
    best = record.select()
    if best is None:
        return f"# Model card\n\nRun {record.run_id} produced no scored policy.\n"
    p, t = record.config.get("preference", {}), best.training
    pr = facts(record, "prompts")
    tuned = (f"DPO (beta {t.extra.get('beta'):g}) of {best.family}, "
             + (f"LoRA rank {p.get('lora_rank')} on {', '.join(p.get('lora_targets', []))} "
                f"({fmt(t.extra.get('trainable_params'))} trained parameters), merged"
                if p.get("lora") else "every weight trained")
             if t.extra.get("beta") is not None
             else f"{best.family} as is (no policy beat it on dev)")
    body = [
        f"# Model card: {best.name} (greennlp run {record.run_id})", "",
        "## Model details",
        f"- {tuned}; {fmt(best.params_total)} parameters.",
        f"- Made by greennlp {record.software.get('greennlp', '?')} on {record.created_at}; "
        f"selected by {record.selection.get('reason', 'dev win rate')}.",
        f"- Checkpoint: {md_code(best.checkpoint or '-')}.", "",
        "## Intended use",
        f"- Continuing the beginning of a movie review so that the judge finds it "
        f"{md(p.get('target'))}: the controlled-sentiment task of the DPO paper (Rafailov et "
        "al. 2023, section 6.1). A research baseline for preference tuning on a budget, not "
        "for text people rely on.", "",
        "## The judge and the reward", *judge_lines(record), "",
        "## Metrics",
        f"- On {pr.get('test')} held-out prompts (first {pr.get('words')} words of test texts, "
        "none beginning a training text), one answer each: mean reward, win rate against an "
        "independent reference answer (a tie counts one half), and KL(model || reference) as "
        "the mean log-ratio of the model's own answers (best-of-n: the bound log n - (n-1)/n). "
        "Intervals: 95% percentile bootstrap over prompts.", "",
        "## Quantitative analyses", *_table(record), "", *[f"- {v}" for v in verdicts(record)],
        "", *environmental_impact(record, best),
        "## Ethical considerations",
        "- Samples are not filtered; a 135M-parameter model sampled at temperature 1 writes "
        "incoherent and sometimes offensive text. Optimising a classifier's score invites "
        "reward hacking (repeating words the classifier weighs).", "",
        "## Caveats and recommendations",
        "- One training run per beta (no seed variance); few pairs and steps (sized for a "
        "2-core CPU). Energy figures without RAPL/NVML are estimates.",
    ]
    return with_front_matter(front_matter(record, best), body)


def _dropped(prompts: dict) -> str:
    dropped = prompts.get("dropped_as_in_train") or {}
    return ", ".join(f"{n} {split}" for split, n in dropped.items()) or "none"


def render_datasheet(record: RunRecord) -> str:
    """DATASHEET.md text: the source data, the prompts and the preference pairs."""
    d, pr, pa = record.data, facts(record, "prompts"), facts(record, "pairs")
    if not d:
        return f"# Datasheet\n\nRun {record.run_id} did not finish its data stage.\n"
    j = facts(record, "judge")
    sizes = d.get("split", {}).get("sizes", {})
    lines = [
        f"# Datasheet: preference pairs from {md(d.get('source'))} (greennlp run "
        f"{record.run_id})", "",
        "## Motivation",
        "- Preference pairs for Direct Preference Optimization, made offline: a pretrained "
        "decoder continues beginnings of texts, a classifier ranks the continuations.", "",
        "## Source data",
        f"- {md(published_origin(record))}; license {md(d.get('license', 'unknown'))}.",
        f"- Split {md(d.get('split', {}).get('method'))} (seed {d.get('split', {}).get('seed')}) "
        f"into {sizes.get('train')} / {sizes.get('dev')} / {sizes.get('test')} texts.", "",
        "## Prompts",
        f"- The first {pr.get('words')} words of texts longer than that, distinct: "
        f"{pr.get('train')} from train (pairs), {pr.get('dev')} from dev (selection), "
        f"{pr.get('test')} from test (held out). Dev and test prompts that also begin a "
        f"training text were left out ({_dropped(pr)}).",
        "- Saved in preference/prompts.json.", "",
        "## Composition of the pairs",
        f"- {pa.get('samples_per_prompt')} continuations per train prompt, sampled from the "
        f"reference model at temperature 1 (full distribution), at most "
        f"{pa.get('max_new_tokens')} tokens; {fmt(pa.get('tokens_per_sample'))} tokens on "
        f"average, {100 * (pa.get('stopped_share') or 0):.0f}% ended by an end token.",
        f"- Labelled by the judge ({md(j.get('family'))}, {md(j.get('source'))}): reward = its "
        f"probability of {md(j.get('target'))}. The best and worst continuation of a prompt "
        f"are (chosen, rejected): {pa.get('pairs')} pairs from {pa.get('prompts')} prompts "
        f"({pa.get('no_pair')} prompts without one: all continuations scored alike).",
        f"- Reward of all samples {fmt(pa.get('reward_mean'))}; chosen "
        f"{fmt(pa.get('chosen_reward_mean'))}, rejected {fmt(pa.get('rejected_reward_mean'))}; "
        f"gap mean {fmt(pa.get('gap_mean'))}, median {fmt(pa.get('gap_median'))}.",
        f"- {pa.get('held_out_pairs')} pairs (seeded) held out to score DPO after each epoch.",
        "- Each pair also holds the reference's log-probability of both continuations.",
        "- Saved in preference/pairs.jsonl (every sample, its tokens and reward).", "",
        "## Labelling and its limits",
        "- No person labelled anything: preferences are a classifier's, with its errors and "
        f"biases (test accuracy {ci(j.get('test_accuracy'))}).",
        "- Continuations are model output, unfiltered; they may hold offensive or false text.",
        "", "## Uses",
        "- Training DPO policies in this run; generated answers of every model with their "
        "rewards are in preference/samples/.", "",
        "## Maintenance", "- Re-made by every run from the pinned data and model packages.",
    ]
    return "\n".join(lines) + "\n"
