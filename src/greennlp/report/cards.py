"""MODEL_CARD.md and DATASHEET.md of every task, from Jinja templates.

One model-card template (``templates/model_card.md.j2``: the sections of Mitchell et al.
2019 under the Hugging Face front matter) and one datasheet template
(``templates/datasheet.md.j2``: the sections of Gebru et al. 2021) fix the sections and
their order. A task fills them with its own templates, ``templates/<task>/model_card.md.j2``
and ``templates/<task>/datasheet.md.j2``, which extend the two and fill their blocks (a
section left empty is left out), from the dict its context function builds from the record
(``card_context(record)``, next to the task's other report code). Adding a task is two
small templates and two context functions, not a copy of the skeletons.

Markdown has no autoescaping: every data-derived string goes through the ``md`` filter
(``md_code`` inside backticks) where a template writes it (:mod:`greennlp.report.markdown`).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Callable

import jinja2

from greennlp.record import ModelResult, RunRecord
from greennlp.report import language_views
from greennlp.report.audit_views import datasheet_lines
from greennlp.report.markdown import md, md_code
from greennlp.report.views import ci, energy_sources, fmt, is_estimate, model_costs

Context = Callable[[RunRecord], dict[str, Any]]
_TRAILING = re.compile(r"[ \t]+$", re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n{3,}")


@functools.cache
def environment(folder: str | None = None) -> jinja2.Environment:
    """The Jinja environment of the Markdown templates (no autoescaping: see the module):
    greennlp's templates, after those of ``folder`` (a task defined outside greennlp)."""
    loader: jinja2.BaseLoader = jinja2.PackageLoader("greennlp.report", "templates")
    if folder is not None:
        loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(folder), loader])
    env = jinja2.Environment(loader=loader, autoescape=False, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(md=md, md_code=md_code, fmt=fmt, ci=ci)
    return env


def render(template: str, context: dict[str, Any], folder: str | None = None) -> str:
    """``template`` (of greennlp, or of ``folder``) filled with ``context``, tidied: no
    spaces at line ends, one blank line at most (templates leave a blank line around every
    block, and an empty section adds none), one line break at the end."""
    text = environment(folder).get_template(template).render(**context)
    return _BLANK_RUNS.sub("\n\n", _TRAILING.sub("", text)).strip() + "\n"


def renderer(template: str, context: Context, folder: str | None = None
             ) -> Callable[[RunRecord], str]:
    """The text of ``template`` filled with ``context(record)``, as a function of the record."""
    return functools.partial(_fill, template, context, folder)


def _fill(template: str, context: Context, folder: str | None, record: RunRecord) -> str:
    return render(template, context(record), folder)


def card_base(record: RunRecord, model: ModelResult | None, card_data: Any = None,
              no_model: str = "produced no evaluated model") -> dict[str, Any]:
    """What the model-card template itself writes: the run, the model the card describes
    (None: the card says the run ``no_model``), its front matter (``ModelCardData``) and
    its Environmental impact."""
    base = {"run_id": record.run_id, "model": model, "no_model": no_model}
    if model is None:
        return base
    return {**base, "languages_md": language_views.card_markdown(record, model),
            "front_matter": card_data.to_yaml() if card_data is not None else None,
            "greennlp": record.software.get("greennlp", "?"), "created_at": record.created_at,
            "impact": {**model_costs(record, model), "footprint": record.footprint,
                       "estimated": "estimated" if is_estimate(record) else "measured",
                       "sources": energy_sources(record)}}


def co2_eq_emissions(record: RunRecord, co2_kg: float, scope: str,
                     training_type: str) -> dict[str, Any]:
    """The card metadata's ``co2_eq_emissions`` (grams) for what ``scope`` names, with how
    it was obtained, where, and on which hardware."""
    hardware = record.hardware
    return {"emissions": round(co2_kg * 1000, 6),
            "source": (f"greennlp {'estimate' if is_estimate(record) else 'measurement'} of "
                       f"{scope}; {record.footprint.get('carbon_intensity_source', '')}"),
            "training_type": training_type,
            "geographical_location": record.config.get("measure", {}).get("region", "world"),
            "hardware_used": f"{hardware.get('usable_cpus')} x {hardware.get('model')} CPU "
                             f"threads" + "".join(f", {g['name']}" for g in hardware.get("gpus", []))}


def datasheet_base(record: RunRecord, description: str, task: str) -> dict[str, Any]:
    """What the datasheet template itself writes: the data section of the record
    (``data``: None when the data stage did not finish), the default ``description`` and
    ``task`` where the data has none, and the audit's sections."""
    data = record.data or None
    base = {"run_id": record.run_id, "data": data}
    if data is None:
        return base
    return {**base, "languages_md": language_views.datasheet_markdown(record),
            "description": data.get("description", description),
            "task": data.get("task", task), "audit_lines": datasheet_lines(record)}


def run_relative(record: RunRecord, path: str) -> str:
    """``path`` inside the run's folder, without the machine's part (also for a record
    whose run folder was moved since)."""
    path_ = Path(path)
    try:
        return str(path_.relative_to(record.run_dir))
    except ValueError:
        parts = path_.parts
        if record.run_id not in parts[:-1]:
            return path_.name
        last = len(parts) - 1 - parts[::-1].index(record.run_id)  # the run's own folder
        return str(Path(*parts[last + 1:]))
