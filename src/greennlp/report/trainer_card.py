"""Reports of a run recorded from a user's own Hugging Face ``Trainer`` (task ``trainer``,
:class:`greennlp.integrations.hf.GreenNLPCallback`): the price of each epoch and
evaluation. greennlp did not see the data or choose the model, and the reports say so."""

from __future__ import annotations

import html

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


def _table(record: RunRecord) -> list[str]:
    lines = ["| stage | time (s) | CPU time (s) | energy (Wh) | CO2e (g) | cost ($) | metrics |",
             "|---|---|---|---|---|---|---|"]
    for r in stage_rows(record):
        lines.append(f"| {r['stage']} | {fmt(r['duration_s'])} | {fmt(r['cpu_time_s'])} | "
                     f"{fmt(r['energy_wh'])} | {fmt(r['co2_g'])} | {fmt(r['cost_usd'])} | "
                     f"{r['metrics']} |")
    t = record.totals()
    lines.append(f"| **total** | {fmt(t['duration_s'])} | {fmt(t['cpu_time_s'])} | "
                 f"{fmt(scaled(t['energy_kwh'], 1e3))} | {fmt(scaled(t['co2_kg'], 1e3))} | "
                 f"{fmt(t['cost_usd'])} | |")
    return lines


def _footprint_lines(record: RunRecord) -> list[str]:
    fp = record.footprint
    return [f"- Energy is {'estimated' if is_estimate(record) else 'measured'}: "
            + "; ".join(f"{k}: {v}" for k, v in energy_sources(record).items()) + ".",
            f"- Carbon intensity {fp.get('carbon_intensity_g_per_kwh')} g/kWh "
            f"({fp.get('carbon_intensity_source')}); PUE {fp.get('pue')}; price "
            f"{fp.get('price_per_hour_usd')} $/h ({fp.get('price_source')}).",
            *[f"- {n}" for n in record.notes]]


def render_card(record: RunRecord) -> str:
    """MODEL_CARD.md: what is known of the model, its training arguments, what it cost."""
    model = record.data.get("model", {})
    args = record.config.get("trainer_args", {})
    return "\n".join([
        f"# Model card: {model.get('name_or_path') or model.get('class', 'model')} "
        f"(greennlp run {record.run_id})", "",
        "Trained by the user's own Hugging Face `Trainer` script; greennlp measured it "
        "(GreenNLPCallback) and did not choose the model, the data or the metrics.", "",
        "## Model",
        f"- Class: {model.get('class', 'unknown')}; parameters: {fmt(model.get('params_total'))} "
        f"({fmt(model.get('params_trainable'))} trainable).", "",
        "## Training arguments",
        *[f"- {k}: {v}" for k, v in args.items() if v is not None], "",
        "## Environmental impact, per stage", "", *_table(record), "",
        *_footprint_lines(record), ""])


def render_datasheet(record: RunRecord) -> str:
    """DATASHEET.md: only what the Trainer let greennlp see."""
    return "\n".join([
        f"# Datasheet (greennlp run {record.run_id})", "",
        "The data belongs to the user's Trainer script; greennlp did not load, clean or "
        "split it, so no statistics, leakage check or license are known here.",
        f"- Training examples (len of the train_dataset): {fmt(record.data.get('train_rows'))}.",
        f"- Optimizer steps run: {fmt(record.data.get('global_steps'))}.", ""])


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
