"""Reports of a run recorded from a user's own Hugging Face ``Trainer`` (task ``trainer``,
:class:`greennlp.integrations.hf.GreenNLPCallback`): the price of each epoch and
evaluation. greennlp did not see the data or choose the model, and the reports say so.
The model card and datasheet are ``templates/trainer/``, filled by the contexts here."""

from __future__ import annotations

import html
from typing import Any

from greennlp.record import RunRecord
from greennlp.report.views import energy_sources, fmt, is_estimate, scaled


def stage_rows(record: RunRecord) -> list[dict]:
    """One row per measured stage: time, energy with its method, CO2e, money, metrics."""
    rows = []
    for s in record.stages:
        shown = {k: v for k, v in s.metrics.items() if k != "log" and not isinstance(v, (list, dict))}
        last_log = next((e for e in reversed(s.metrics.get("log", [])) if "loss" in e), None)
        if last_log:
            shown["loss (last logged)"] = last_log["loss"]
        rows.append({"stage": s.name, "status": s.status, "duration_s": s.duration_s,
                     "cpu_time_s": s.cpu_time_s, "energy_wh": scaled(s.energy_kwh, 1e3),
                     "method": s.energy_method, "co2_g": scaled(s.co2_kg, 1e3),
                     "cost_usd": s.cost_usd,
                     "metrics": ", ".join(f"{k}={fmt(v) if isinstance(v, float) else v}"
                                          for k, v in shown.items())})
    return rows


def card_data(record: RunRecord) -> Any:
    """The card's metadata (``huggingface_hub.ModelCardData``): ``co2_eq_emissions`` of
    every measured stage, the library, and the base model where it is a Hub id (a local
    folder is never named)."""
    from huggingface_hub import ModelCardData

    from greennlp.report.card_facts import is_local_path
    from greennlp.report.cards import co2_eq_emissions

    model = record.data.get("model", {})
    name = str(model.get("name_or_path") or "")
    co2, extra = record.totals()["co2_kg"], {}
    if co2 is not None and record.stages:
        extra["co2_eq_emissions"] = co2_eq_emissions(
            record, co2, "every epoch and evaluation of the Trainer run", "fine-tuning"
            if name else "pre-training")
    return ModelCardData(library_name="transformers", tags=["greennlp", "trainer"],
                         base_model=name if _hub_id(name) and not is_local_path(name) else None,
                         **extra)


def _hub_id(name: str) -> bool:
    """A name the Hub accepts as a repository id (anything else is not written)."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def card_context(record: RunRecord) -> dict[str, Any]:
    """What ``trainer/model_card.md.j2`` writes: what is known of the model, its training
    arguments, what each stage cost."""
    model = record.data.get("model", {})
    args = record.config.get("trainer_args", {})
    t = record.totals()
    return {"run_id": record.run_id, "model": model, "front_matter": card_data(record).to_yaml(),
            "name": model.get("name_or_path") or model.get("class", "model"),
            "args": {k: v for k, v in args.items() if v is not None},
            "rows": stage_rows(record),
            "totals": {**t, "energy_wh": scaled(t["energy_kwh"], 1e3),
                       "co2_g": scaled(t["co2_kg"], 1e3)},
            "estimated": "estimated" if is_estimate(record) else "measured",
            "sources": energy_sources(record), "footprint": record.footprint,
            "notes": record.notes}


def datasheet_context(record: RunRecord) -> dict[str, Any]:
    """What ``trainer/datasheet.md.j2`` writes: only what the Trainer let greennlp see."""
    return {"run_id": record.run_id, "data": record.data}


def render_section(record: RunRecord) -> str:
    """The trainer run's part of report.html: the stage table."""
    def row(r: dict) -> str:
        cells = (r["stage"], fmt(r["duration_s"]), fmt(r["energy_wh"]), fmt(r["co2_g"]),
                 fmt(r["cost_usd"]), r["method"], r["status"], r["metrics"])
        left = ' class="l"'
        return "<tr>" + "".join(f"<td{left if i in (0, 5, 7) else ''}>{html.escape(str(v))}</td>"
                                for i, v in enumerate(cells)) + "</tr>"

    cells = "".join(row(r) for r in stage_rows(record))
    model = record.data.get("model", {})
    return (f"<h2>Trainer run: {html.escape(str(model.get('name_or_path') or model.get('class')))}"
            "</h2><p class=\"muted\">Each epoch and each evaluation of the user's Trainer, "
            "measured by GreenNLPCallback.</p><table><tr><th>stage</th><th>time (s)</th>"
            "<th>energy (Wh)</th><th>CO2e (g)</th><th>cost ($)</th><th>energy method</th>"
            f"<th>status</th><th>metrics</th></tr>{cells}</table>")
