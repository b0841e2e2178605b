"""MODEL_CARD.md and DATASHEET.md of a preference run (``task: preference``), from the
record alone, through the shared templates (``templates/preference/*.md.j2``). The card
says what the judge was, how accurate it is on its own test data, and that the reward is
a classifier's judgement, not a person's; the datasheet describes the prompts and the
preference pairs as well as the data they come from."""

from __future__ import annotations

from typing import Any

from greennlp.record import ModelResult, RunRecord
from greennlp.report.card_facts import card_license, published_origin
from greennlp.report.cards import card_base, co2_eq_emissions, datasheet_base, run_relative
from greennlp.report.preference_views import cost_rows, facts, model_rows, verdicts
from greennlp.report.views import ci, fmt, model_costs


def card_data(record: RunRecord, best: ModelResult):
    """The card's metadata (``ModelCardData``), claiming only what the record shows."""
    from huggingface_hub import ModelCardData

    extra = {}
    co2 = model_costs(record, best)["train_co2_kg"]
    if co2 is not None:
        extra["co2_eq_emissions"] = co2_eq_emissions(
            record, co2, "this model's DPO training (the pairs are not included)", "fine-tuning")
    return ModelCardData(
        language=["en"], license=card_license(record, best)["license"],
        pipeline_tag="text-generation", tags=["text-generation", "dpo", "preference-tuning",
                                              "greennlp"],
        model_name=f"greennlp-{record.run_id}-{best.name}", **extra)


def _misjudged(accuracy: dict | None) -> str:
    return "an unknown share" if not accuracy else f"{100 * (1 - accuracy['value']):.1f}%"


def _rows(record: RunRecord) -> list[dict[str, Any]]:
    per_m = {r["name"]: r["per_million"].get("energy_kwh") for r in cost_rows(record)}
    return [dict(r, kwh_per_1m=per_m.get(r["name"]),
                 kl_text=f"<= {r['kl']['value']:.2f}" if r["kl_analytic"] else ci(r["kl"], 2))
            for r in model_rows(record)]


def _tuned(record: RunRecord, best: ModelResult) -> str:
    p, t = record.config.get("preference", {}), best.training
    if t.extra.get("beta") is None:
        return f"{best.family} as is (no policy beat it on dev)"
    how = (f"LoRA rank {p.get('lora_rank')} on {', '.join(p.get('lora_targets', []))} "
           f"({fmt(t.extra.get('trainable_params'))} trained parameters), merged"
           if p.get("lora") else "every weight trained")
    return f"DPO (beta {t.extra.get('beta'):g}) of {best.family}, {how}"


def card_context(record: RunRecord) -> dict[str, Any]:
    """What ``preference/model_card.md.j2`` writes about a preference run."""
    best = record.select()
    if best is None:
        return card_base(record, None, no_model="produced no scored policy")
    judge = facts(record, "judge")
    return {**card_base(record, best, card_data(record, best)),
            "tuned": _tuned(record, best),
            "selection_reason": record.selection.get("reason", "dev win rate"),
            "checkpoint": run_relative(record, best.checkpoint) if best.checkpoint else "-",
            "target": record.config.get("preference", {}).get("target"), "judge": judge,
            "misjudged": _misjudged(judge.get("test_accuracy")),
            "prompts": facts(record, "prompts"), "rows": _rows(record),
            "verdicts": verdicts(record)}


def datasheet_context(record: RunRecord) -> dict[str, Any]:
    """What ``preference/datasheet.md.j2`` writes: the source data, the prompts, the pairs."""
    base = datasheet_base(record, "Preference pairs.", "preference tuning")
    if base["data"] is None:
        return base
    prompts, pairs = facts(record, "prompts"), facts(record, "pairs")
    dropped = prompts.get("dropped_as_in_train") or {}
    split = record.data.get("split", {})
    return {**base, "origin": published_origin(record), "split": split,
            "sizes": split.get("sizes", {}), "prompts": prompts, "pairs": pairs,
            "judge": facts(record, "judge"),
            "dropped": ", ".join(f"{n} {s}" for s, n in dropped.items()) or "none",
            "stopped_pct": f"{100 * (pairs.get('stopped_share') or 0):.0f}"}
