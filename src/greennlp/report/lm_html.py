"""The language-model section of report.html (``task: lm``)."""

from __future__ import annotations

import base64
import math
from importlib import resources

import jinja2

from greennlp.record import RunRecord
from greennlp.report import lm_plots
from greennlp.report.lm_views import lm_rows, peak, samples, scaling, scoring_line
from greennlp.report.views import ci, fmt


def _b64(png: bytes | None) -> str | None:
    return base64.b64encode(png).decode("ascii") if png else None


def render_section(record: RunRecord) -> str:
    """HTML of the LM tables, plots and samples (inserted into the shared template)."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined)
    env.filters["exp"] = math.exp
    template = env.from_string(
        (resources.files("greennlp.report") / "templates" / "lm_section.html.j2").read_text())
    rows = lm_rows(record)
    scored = [r for r in rows if r["bpc"]]
    lm = record.config.get("lm", {})
    plots = {"bpc": _b64(lm_plots.bits_per_char(record)),
             "curves": _b64(lm_plots.lm_training_curves(record)),
             "scaling": _b64(lm_plots.scaling_plot(record)),
             "cost": _b64(lm_plots.bpc_vs_cost(record))}
    return template.render(
        rows=rows, best=min(scored, key=lambda r: r["bpc"]["value"], default=None),
        trained=max((r for r in rows if r["tokens_per_s"]), key=lambda r: r["mfu"] or 0.0,
                    default=None), peak=peak(record),
        sweep=scaling(record), samples=samples(record), sampling=lm.get("sampling", {}),
        plots=plots, vocab=lm.get("vocab_size"), scoring=scoring_line(record),
        stream=lm.get("evaluation", {}).get("protocol", "documents") == "stream",
        sub_docs=lm.get("smollm2_documents"),
        sub_chars=lm.get("evaluation", {}).get("smollm2_chars"),
        notes=record.notes, fmt=fmt, ci=ci,
        confidence=int(100 * record.config.get("evaluate", {}).get("confidence", 0.95)),
        samples_n=record.config.get("evaluate", {}).get("bootstrap_samples"))
