"""Read-only views of a RunRecord that every report format shares (no measuring here)."""

from __future__ import annotations

from typing import Any

from greennlp.models.families import FAMILIES, Family
from greennlp.record import ModelResult, RunRecord


def fmt(value: Any, digits: int = 3) -> str:
    """Compact human formatting; '-' for missing values."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 1e6 or abs(value) < 1e-3:
            return f"{value:.{digits - 1}e}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}" if abs(value) >= 1 else f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def scaled(value: float | None, factor: float) -> float | None:
    """``value * factor``, or None when the value is unknown (e.g. kWh -> Wh)."""
    return None if value is None else value * factor


def ci(metric: dict[str, float] | None, digits: int = 3) -> str:
    """``0.771 [0.755, 0.787]``."""
    if not metric:
        return "-"
    return f"{metric['value']:.{digits}f} [{metric['low']:.{digits}f}, {metric['high']:.{digits}f}]"


def family_of(model: ModelResult) -> Family | None:
    """The model's family in the table (None for a family this greennlp does not know)."""
    return FAMILIES.get(model.family)


def origin(model: ModelResult) -> str:
    """How a model came to be, from the family table and its record: ``scratch`` (trained
    from scratch here), ``as_is`` (pretrained, scored without training) or ``adapted``
    (pretrained, then fine-tuned or adapted here)."""
    fam = family_of(model)
    if fam is None or not fam.pretrained:
        return "scratch"
    return "as_is" if fam.as_is and not model.training.steps else "adapted"


def main_metric(model: ModelResult) -> str:
    """The metric a model is judged by: its family's (accuracy, perplexity, ...), unless its
    scores are of another kind (a decoder tuned by preference is scored by its win rate)."""
    fam = family_of(model)
    scored = model.dev or model.test
    if fam and (fam.metric in model.dev or fam.metric in model.test or not scored):
        return fam.metric
    return next(iter(scored), "accuracy")


def metric_name(metric: str) -> str:
    """``masked_perplexity`` -> ``masked perplexity``."""
    return metric.replace("_", " ")


def configured(record: RunRecord, model: ModelResult) -> dict[str, Any] | None:
    """The settings section a model was built from, as recorded (None: no settings)."""
    fam = family_of(model)
    if fam is None or fam.section is None:
        return None
    node: Any = record.config
    for part in fam.section.split("."):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node


def model_costs(record: RunRecord, model: ModelResult) -> dict[str, float | None]:
    """Summed duration / energy / CO2e / cost of what produced a model (its training or
    loading stage, or the search trial it was taken from) and of its evaluation."""
    names = set(model.stages) | {f"train:{model.name}", f"evaluate:{model.name}"}
    out: dict[str, float | None] = {}
    for kind, prefixes in (("train", ("train:", "search:", "load:")), ("evaluate", ("evaluate:",))):
        stages = [s for s in record.stages if s.name in names and s.name.startswith(prefixes)
                  and s.status == "ok"]
        for key in ("duration_s", "energy_kwh", "co2_kg", "cost_usd"):
            values = [getattr(s, key) for s in stages]
            out[f"{kind}_{key}"] = (None if not values or any(v is None for v in values)
                                    else float(sum(values)))
    return out


def model_rows(record: RunRecord) -> list[dict[str, Any]]:
    """One summary row per model, in the order they were trained."""
    rows = []
    for m in record.models:
        costs = model_costs(record, m)
        rows.append({
            "name": m.name, "family": m.family, "params": m.params_total,
            "params_non_embedding": m.params_non_embedding, "flops": m.flops_per_example,
            "dev_accuracy": m.dev.get("accuracy"), "test_accuracy": m.test.get("accuracy"),
            "test_macro_f1": m.test.get("macro_f1"),
            "latency_ms": m.efficiency.get("latency_ms_b1"),
            "throughput": m.efficiency.get("throughput_b32"),
            "size_mb": m.efficiency.get("size_mb"), **costs,
        })
    return rows


def energy_methods(record: RunRecord) -> list[str]:
    """Distinct per-component energy methods used across stages, e.g. 'cpu: estimate:tdp'."""
    seen: list[str] = []
    for s in record.stages:
        for part in s.energy_method.split("; "):
            if part and part not in seen:
                seen.append(part)
    return seen


def energy_sources(record: RunRecord) -> dict[str, str]:
    """Component -> the assumption or sensor behind its energy figure."""
    out: dict[str, str] = {}
    for s in record.stages:
        for comp, detail in s.energy_detail.items():
            if isinstance(detail, dict) and comp not in out:
                out[comp] = f"{detail.get('method', '?')}: {detail.get('source', detail.get('scope', ''))}"
    return out


def is_estimate(record: RunRecord) -> bool:
    """True if any energy figure of the run is an estimate rather than a reading."""
    return any("estimate" in m for m in energy_methods(record))


def baseline_rows(record: RunRecord) -> list[dict[str, Any]]:
    """The majority-class and stratified-random baselines, shaped like :func:`model_rows`."""
    return [{"name": f"baseline: {kind}", "family": "baseline", "params": None,
             "params_non_embedding": None, "flops": None, "dev_accuracy": None,
             "test_accuracy": scores.get("accuracy"), "test_macro_f1": scores.get("macro_f1"),
             "latency_ms": None, "throughput": None, "size_mb": None,
             **{f"{k}_{u}": None for k in ("train", "evaluate")
                for u in ("duration_s", "energy_kwh", "co2_kg", "cost_usd")}}
            for kind, scores in record.baselines.items()]


def sanity_warnings(record: RunRecord) -> list[str]:
    """Each model's failed sanity check on test (one class for nearly all inputs, or no
    better than the majority-class baseline)."""
    return [w for m in record.models
            if (w := (m.sanity or {}).get("test", {}).get("warning"))]


def selection_text(record: RunRecord) -> str:
    """How models were selected: the metric and why."""
    sel = record.selection
    if not sel:
        return "Models are selected by dev accuracy."
    return (f"Models are selected and compared by dev {metric_name(sel['metric'])} "
            f"({sel.get('reason', '')}).")
