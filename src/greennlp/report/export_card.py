"""The model card of an exported model (README.md in the export folder): the card of the
model itself, whichever of the run's models it is, not of the run's selected one.

It is the classification card (``templates/classification/model_card.md.j2``, through
``classification/export_card.md.j2``) filled for that model, with the export's format,
how to open it, and, for an ONNX model with quantized activations, how its predictions
depend on batching, as measured when it was exported. Its metadata comes from
``huggingface_hub``'s card classes, as the run's card does; no local path reaches it.
"""

from __future__ import annotations

from typing import Any

from greennlp.record import ModelResult, RunRecord
from greennlp.report.cards import render

LIBRARY = {"hf": "transformers", "onnx": None,  # the Hub knows no ONNX Runtime library
           "adapter": "peft"}
TAGS = {"hf": (), "onnx": ("onnx",), "adapter": ("peft",)}


def export_card(record: RunRecord, model: ModelResult, fmt: str, batching: dict | None = None,
                repo: str | None = None) -> str:
    """README.md of model ``model`` of ``record`` exported as ``fmt`` (``hf`` or ``onnx``).

    Parameters
    ----------
    record, model
        The run and the exported model.
    fmt
        The export's format.
    batching
        :func:`greennlp.compress.export.batch_dependence` of the exported model, or None.
    repo
        The Hub repository it is published to (the usage example names it).

    Returns
    -------
    str
        The card, front matter first.
    """
    from greennlp.report.model_card import card_context, card_data

    costs, scope = made_by(record, model)
    card = card_data(record, model, library=LIBRARY[fmt], tags=TAGS[fmt],
                     training=(costs["train_co2_kg"], scope))
    context = card_context(record, model, card)
    context["impact"] = {**context["impact"], **costs}
    context["export"] = {"format": fmt, "where": repo or "path/to/this/folder",
                         "batching": batching}
    return render("classification/export_card.md.j2", context)


def made_by(record: RunRecord, model: ModelResult) -> tuple[dict[str, float | None], str]:
    """What it cost to make ``model`` (``train_*`` keys, as :func:`model_costs`) and what
    that covers: a dense model's final training; a compressed variant's compression plus
    the training of the model it was made from."""
    from greennlp.report.views import model_costs

    costs = model_costs(record, model)
    source = record.model(model.variant_of) if model.variant_of else None
    if source is None:
        return costs, "the final training only (search and seeds: see the card's text)"
    own = [s for s in record.stages if s.name in model.stages and s.name.startswith("compress:")]
    made = {**costs}
    for key in ("duration_s", "energy_kwh", "co2_kg", "cost_usd"):
        values = [model_costs(record, source)[f"train_{key}"], *(getattr(s, key) for s in own)]
        made[f"train_{key}"] = None if any(v is None for v in values) else float(sum(values))
    return made, (f"the final training of {source.name} and its compression into "
                  f"{model.name}")


def card_metadata(text: str) -> dict[str, Any]:
    """The front matter of a card, as ``huggingface_hub.ModelCard`` parses it."""
    from huggingface_hub import ModelCard

    return ModelCard(text).data.to_dict()
