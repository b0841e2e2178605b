"""The classification model card (``templates/classification/model_card.md.j2``): its
context and Hugging Face metadata.

The card describes the run's selected model (:meth:`RunRecord.select`) and lists every
model trained in the run. Its metadata is built with ``huggingface_hub``'s card classes
(``ModelCardData``, ``EvalResult``), so the Hub and ``huggingface_hub.ModelCard.load``
parse it; what the metadata claims is only what the record shows
(:mod:`greennlp.report.card_facts`): a dataset id only for data from the Hub, the license
of the data and base model where known, ``library_name`` only when the checkpoint opens in
that library, and ``co2_eq_emissions`` for the chosen model's final training (the whole
run's search and seed cost is in the text).
"""

from __future__ import annotations

from typing import Any

from greennlp.record import ModelResult, RunRecord
from greennlp.report.analysis_views import card_caveats, card_factors
from greennlp.report.audit_views import clean_test_lines
from greennlp.report.card_facts import (base_model, card_license, hub_dataset, library_name,
                                        published_origin, selection_costs)
from greennlp.report.cards import card_base, co2_eq_emissions, run_relative
from greennlp.report.class_views import card_per_class
from greennlp.report import finetune_views
from greennlp.report.compression_views import card_section
from greennlp.report.language_views import card_languages
from greennlp.report.views import (baseline_rows, family_of, is_estimate, metric_name,
                                   model_costs, model_rows, sanity_warnings, selection_text)


def card_data(record: RunRecord, best: ModelResult, library: str | None = "checkpoint",
              tags: tuple[str, ...] = (), training: tuple[float | None, str] | None = None):
    """The card's metadata as ``huggingface_hub.ModelCardData`` (model-index, license,
    base model, emissions); ``library`` names the library that opens the files the card
    goes with (``checkpoint``: what the model's run folder holds), ``tags`` are added,
    ``training`` is the kg CO2e of what made the model and what that covers (default: the
    model's final training)."""
    from huggingface_hub import EvalResult, ModelCardData

    dataset, fam = hub_dataset(record), family_of(best)
    results = []
    if dataset is not None:  # model-index needs a Hub dataset id: none for other data
        scores = [("accuracy", "Test accuracy", best.test.get("accuracy"), None),
                  ("f1", "Test macro F1", best.test.get("macro_f1"), {"average": "macro"})]
        results = [EvalResult(task_type="text-classification", task_name="Text Classification",
                              dataset_type=dataset, dataset_name=dataset, dataset_split="test",
                              metric_type=kind, metric_name=name, metric_args=args,
                              metric_value=round(score["value"], 4))
                   for kind, name, score, args in scores if score]
    co2, scope = training or (model_costs(record, best)["train_co2_kg"],
                              "the final training only (search and seeds: see the card's text)")
    extra = {}
    if co2 is not None:
        extra["co2_eq_emissions"] = co2_eq_emissions(
            record, co2, scope, fam.card_training_type if fam else "pre-training")
    return ModelCardData(
        language=card_languages(record), license=card_license(record, best)["license"],
        library_name=library_name(record, best) if library == "checkpoint" else library,
        base_model=base_model(record, best)["base_model"],
        pipeline_tag="text-classification", tags=["text-classification", "greennlp", *tags],
        datasets=[dataset] if dataset else None, metrics=["accuracy", "f1"],
        model_name=f"greennlp-{record.run_id}-{best.name}", eval_results=results or None,
        **extra)


def card_context(record: RunRecord, model: ModelResult | None = None,
                 card: Any = None) -> dict[str, Any]:
    """What ``classification/model_card.md.j2`` writes about a classification run: its
    selected model, or ``model`` (an exported one) with the metadata ``card``."""
    selected = record.select()
    best = model or selected
    if best is None:
        return card_base(record, None)
    split, ev = record.data.get("split", {}), record.config.get("evaluate", {})
    seeds = record.seed_runs.get(best.name)
    search = record.searched(best.name)
    per_class, per_class_omitted = card_per_class(best)
    return {
        **card_base(record, best, card or card_data(record, best)),
        "selected": selected.name if selected else None, "models_count": len(record.models),
        "selection_metric": metric_name(record.selection_metric),
        "selection": selection_text(record), "search": search,
        "checkpoint": run_relative(record, best.checkpoint),
        "task": record.data.get("task", "text classification"),
        "factors": card_factors(record, best),
        "confidence": int(ev.get("confidence", 0.95) * 100),
        "bootstrap_samples": ev.get("bootstrap_samples"),
        "test_evaluations": record.test_evaluations, "split": split,
        "sizes": split.get("sizes", {}), "origin": published_origin(record),
        "per_class": per_class, "per_class_omitted": per_class_omitted,
        "rows": model_rows(record) + baseline_rows(record),
        "clean_test": clean_test_lines(record), "costs": selection_costs(record),
        "estimated": is_estimate(record), "license": card_license(record, best),
        "base_model": base_model(record, best), "data_license": record.data.get("license", "unknown"),
        "compression": card_section(record), "fairness": bool(best.analysis.get("fairness")),
        "warnings": sanity_warnings(record),
        "seeds": seeds.summary.get("test_accuracy") if seeds else None,
        "finetune": finetune_views.card_text(record, best),
        "seed_runs": seeds, "subset": record.data.get("train_subset"),
        "caveats": card_caveats(record, best)}

