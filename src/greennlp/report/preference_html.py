"""The preference-tuning section of report.html (``task: preference``)."""

from __future__ import annotations

import base64
from importlib import resources

import jinja2

from greennlp.record import RunRecord
from greennlp.report import preference_plots
from greennlp.report.preference_views import cost_rows, facts, model_rows, verdicts
from greennlp.report.views import ci, fmt, is_estimate


def _b64(png: bytes | None) -> str | None:
    return base64.b64encode(png).decode("ascii") if png else None


def render_section(record: RunRecord) -> str:
    """HTML of the models, frontier, costs, judge, pairs and generated texts (escaped:
    generated text is data)."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined)
    template = env.from_string((resources.files("greennlp.report") / "templates"
                                / "preference_section.html.j2").read_text())
    rows = model_rows(record)
    cfg = record.config.get("preference", {})
    texts = [(r["name"], r["examples"]) for r in rows if r["examples"]]
    return template.render(
        rows=rows, best=next((r for r in rows if r["selected"]), None), verdicts=verdicts(record),
        judge=facts(record, "judge"), pairs=facts(record, "pairs"),
        prompts=facts(record, "prompts"), costs=cost_rows(record), texts=texts,
        plots={"frontier": _b64(preference_plots.frontier(record)),
               "curves": _b64(preference_plots.training_curves(record))},
        max_new_tokens=cfg.get("max_new_tokens"), estimate=is_estimate(record),
        notes=record.notes, fmt=fmt, ci=ci,
        confidence=int(100 * record.config.get("evaluate", {}).get("confidence", 0.95)),
        samples_n=record.config.get("evaluate", {}).get("bootstrap_samples"))
