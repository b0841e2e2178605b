"""The model card and datasheet of an LM run (``task: lm``): their contexts
(``templates/lm/``) and the card's Hugging Face metadata, from the record alone."""

from __future__ import annotations

from typing import Any

from greennlp.record import ModelResult, RunRecord
from greennlp.report.audit_views import clean_test_lines
from greennlp.report.card_facts import card_license
from greennlp.report.cards import card_base, co2_eq_emissions, datasheet_base, run_relative
from greennlp.report.language_views import card_languages
from greennlp.report.lm_views import lm_rows, scoring_line
from greennlp.report.views import model_costs


def card_data(record: RunRecord, best: ModelResult):
    """The card's metadata as ``huggingface_hub.ModelCardData``, claiming only what the
    record shows (as the classification card does): no ``datasets`` or ``model-index``,
    since an LM corpus is a built-in or a local file, never a Hub dataset id; the data's
    license where known; no ``library_name``, since greennlp's checkpoints open in greennlp;
    ``co2_eq_emissions`` for the model's own training."""
    from huggingface_hub import ModelCardData

    co2, extra = model_costs(record, best)["train_co2_kg"], {}
    if co2 is not None:
        extra["co2_eq_emissions"] = co2_eq_emissions(record, co2, "this model's training",
                                                     "pre-training")
    return ModelCardData(
        language=card_languages(record), license=card_license(record, best)["license"],
        pipeline_tag="text-generation", tags=["text-generation", "language-modeling", "greennlp"],
        metrics=["perplexity", "bits_per_character"],
        model_name=f"greennlp-{record.run_id}-{best.name}", **extra)


def _corpus_notes(record: RunRecord) -> dict[str, str]:
    """What the card says about the corpus's register and content: known for the built-in
    movie dialogs, the user's to judge for their own text."""
    if record.data.get("source") == "movie_dialogs":
        return {"factors": "the built-in corpus is lower-cased movie dialog",
                "ethics": "Movie dialog contains insults, stereotypes and violence; a model "
                          "trained on it reproduces them when sampled. Samples are not filtered."}
    return {"factors": "this corpus was provided by the user; see DATASHEET.md",
            "ethics": "A language model reproduces what its corpus contains, including harmful "
                      "or private text; review the corpus and the samples before use. Samples "
                      "are not filtered."}


def card_context(record: RunRecord) -> dict[str, Any]:
    """What ``lm/model_card.md.j2`` writes about an LM run."""
    best = record.select()
    if best is None:
        return card_base(record, None, no_model="produced no language model with a dev score")
    return {**card_base(record, best, card_data(record, best)),
            "not_eligible": [m.name for m in record.models if "perplexity" not in m.dev],
            "checkpoint": run_relative(record, best.checkpoint),
            "task": record.data.get("task", "language modelling"),
            "notes": _corpus_notes(record), "scoring": scoring_line(record),
            "sizes": record.data.get("split", {}).get("sizes", {}),
            "origin": record.data.get("origin", "?"),
            "seed": record.data.get("split", {}).get("seed"),
            "rows": lm_rows(record), "clean_test": clean_test_lines(record)}


def datasheet_context(record: RunRecord) -> dict[str, Any]:
    """What ``lm/datasheet.md.j2`` writes about an LM corpus."""
    base = datasheet_base(record, "User-provided text.", "language modelling")
    if base["data"] is None:
        return base
    d = record.data
    st = d.get("stats", {})
    return {**base, "cleaning": d.get("cleaning", {}), "split": d.get("split", {}), "stats": st,
            "leak": st.get("leakage", {})}
