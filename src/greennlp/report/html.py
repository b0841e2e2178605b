"""report.html: one self-contained page (inline CSS, plots as base64 PNG) that opens offline."""

from __future__ import annotations

import base64
from collections import Counter
from importlib import resources
from typing import Callable

import jinja2

from greennlp.evaluate.metrics import MANY_CLASSES
from greennlp.record import RunRecord
from greennlp.report import (audit_views, cheaper_views, checklist, compression_views,
                             finetune_views, language_views, plots)
from greennlp.report.analysis_views import html as analysis_html
from greennlp.report.class_views import confusion_tables, many
from greennlp.report.search_views import evp_inputs, seed_rows, trial_rows
from greennlp.report.views import (baseline_rows, ci, energy_sources, fmt, is_estimate,
                                   model_rows, sanity_warnings, selection_text)


def _point_text(params: dict) -> str:
    return ", ".join(f"{k}={fmt(v) if isinstance(v, float) else v}" for k, v in params.items())


def search_tables(record: RunRecord) -> list[dict]:
    """Per searched family: settings, totals, savings and one row per trial."""
    tables = []
    for family, state in record.search.items():
        if not state.completed:
            continue
        rows = [dict(r, params_text=_point_text(r["params"])) for r in trial_rows(record, family)]
        space = "; ".join(f"{k}: {v['dist']} " + (str(v["values"]) if v["dist"] == "choice"
                                                  else f"[{v['low']}, {v['high']}]")
                          for k, v in state.space.items())
        tables.append({"family": family, "method": state.method, "executor": state.executor,
                       "max_epochs": state.max_epochs, "rungs": state.rungs,
                       "eta": state.reduction_factor, "selection": state.selection,
                       "totals": state.totals, "saved": state.early_stopping_saved,
                       "space_text": space, "rows": rows})
    return tables


def _b64(png: bytes | None) -> str | None:
    return base64.b64encode(png).decode("ascii") if png else None


def render(record: RunRecord, section: Callable[[RunRecord], str] | None = None) -> str:
    """The HTML text of the report; ``section`` renders a task's own part (it then plots
    its own training curves)."""
    template = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        (resources.files("greennlp.report") / "templates" / "report.html.j2").read_text())
    curves, points, evp_notes = evp_inputs(record)
    figures = {
        "evp": _b64(plots.expected_validation(curves, points)) if curves else None,
        "accuracy_vs_cost": _b64(plots.accuracy_vs_cost(record)),
        "seed_strategies": _b64(plots.seed_strategies(cheaper_views.seed_strategies(record))),
        "data_budget": _b64(plots.data_budget(cheaper_views.data_budget(record))),
        "training_curves": _b64(plots.training_curves(record)),
        "cost_per_stage": _b64(plots.cost_per_stage(record)),
        "confusions": [(m.name, _b64(plots.confusion(m.confusion_matrix, m.labels, m.name)))
                       for m in record.models if m.confusion_matrix and not many(m.labels)],
    }
    confusion_tables_ = [confusion_tables(m) for m in record.models
                         if m.confusion_matrix and many(m.labels)]
    notes = Counter(m.flops_note for m in record.models if m.flops_note and not m.variant_of)
    flops_note = notes.most_common(1)[0][0] if notes else "-"  # what most models' FLOPs mean
    threads = next((m.efficiency.get("torch_threads") for m in record.models if m.efficiency), "-")
    section_html = None
    if section is not None:
        section_html = section(record)
        figures["training_curves"] = None  # the task's section plots its own
    return template.render(
        r=record, best=record.select(), rows=model_rows(record), totals=record.totals(),
        estimate=is_estimate(record), sources=energy_sources(record), plots=figures,
        checklist=checklist.fill(record), fmt=fmt, ci=ci, flops_note=flops_note, threads=threads,
        search_tables=search_tables(record), finetune_rows=finetune_views.rows(record),
        evp_notes=evp_notes, seed_rows=seed_rows(record),
        seed_lines=cheaper_views.seed_strategy_lines(record),
        subset=record.data.get("train_subset"),
        confidence=int(100 * record.config.get("evaluate", {}).get("confidence", 0.95)),
        section_html=section_html, compression=compression_views.context(record),
        audit_html=audit_views.html_section(record),
        baselines=baseline_rows(record), warnings=sanity_warnings(record),
        selection=selection_text(record), analysis=analysis_html(record),
        languages=language_views.html(record), confusion_tables=confusion_tables_,
        many_classes=MANY_CLASSES)
