"""Beyond accuracy in the reports: calibration, selective prediction, slices, fairness,
robustness, and what compression changed in them (read from the record; nothing measured).
"""

from __future__ import annotations

import base64
from importlib import resources
from typing import Any

from greennlp.evaluate.metrics import MANY_CLASSES
from greennlp.evaluate.variants import root_of
from greennlp.record import ModelResult, RunRecord
from greennlp.report.markdown import md
from greennlp.report.views import fmt

# A variant is marked as degraded beyond accuracy when, against its dense source, ...
WORSE_SLICE_POINTS = 2.0  # ... its worst-slice accuracy falls by more than this (points),
WORSE_ECE = 0.02          # ... its ECE rises by more than this,
WORSE_FLIPS = 0.02        # ... or its mean flip rate under perturbations rises by more than this.


def _get(m: ModelResult, *path: str) -> Any:
    node: Any = m.analysis
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def analysed(m: ModelResult) -> bool:
    """The model has the beyond-accuracy analysis (a language model's ``analysis`` holds
    only its per-language scores)."""
    return bool(m.analysis.get("calibration"))


def mean_flip_rate(m: ModelResult) -> float | None:
    """Mean flip rate over the perturbations (None without a robustness analysis)."""
    rates = [p.get("flip_rate") for p in (_get(m, "robustness", "perturbations") or {}).values()
             if p.get("flip_rate") is not None]
    return sum(rates) / len(rates) if rates else None


def headline(m: ModelResult) -> dict[str, Any]:
    """The few beyond-accuracy numbers of one model."""
    worst = _get(m, "slices", "worst") or {}
    return {"ece": _get(m, "calibration", "test", "ece", "value"),
            "ece_scaled": _get(m, "calibration", "test_scaled", "ece", "value"),
            "worst_slice": f"{worst['family']} = {worst['slice']}" if worst else None,
            "worst_slice_accuracy": worst.get("accuracy"), "flip_rate": mean_flip_rate(m),
            "aurc": _get(m, "selective", "aurc")}


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def variant_deltas(record: RunRecord) -> dict[str, dict[str, Any]]:
    """Per compressed variant, against its dense source: change in worst-slice accuracy
    (points), ECE and mean flip rate, and whether any moved past its mark."""
    out = {}
    for m in record.models:
        root = root_of(record, m)
        if not m.variant_of or root is m or not analysed(m) or not analysed(root):
            continue
        v, r = headline(m), headline(root)
        slice_d = _delta(v["worst_slice_accuracy"], r["worst_slice_accuracy"])
        d = {"reference": root.name,
             "worst_slice_points": None if slice_d is None else 100 * slice_d,
             "ece": _delta(v["ece"], r["ece"]), "flip_rate": _delta(v["flip_rate"], r["flip_rate"])}
        d["degraded"] = bool((d["worst_slice_points"] or 0) < -WORSE_SLICE_POINTS
                             or (d["ece"] or 0) > WORSE_ECE or (d["flip_rate"] or 0) > WORSE_FLIPS)
        out[m.name] = d
    return out


def _b64(png: bytes | None) -> str | None:
    return base64.b64encode(png).decode("ascii") if png else None


def context(record: RunRecord) -> dict[str, Any]:
    """What the report's "Beyond accuracy" section shows."""
    from greennlp.report import analysis_plots as plots

    models = [m for m in record.models if analysed(m)]
    best = record.select()
    focus = best if best and analysed(best) else (models[0] if models else None)
    return {"models": models, "head": {m.name: headline(m) for m in models}, "focus": focus,
            "deltas": variant_deltas(record),
            "reliability_png": _b64(plots.reliability(focus)) if focus else None,
            "risk_png": _b64(plots.risk_coverage(models)) if models else None,
            "marks": {"slice": WORSE_SLICE_POINTS, "ece": WORSE_ECE, "flips": WORSE_FLIPS}}


def html(record: RunRecord) -> str:
    """The report's "Beyond accuracy" section (empty when no model was analysed)."""
    import jinja2

    if not any(analysed(m) for m in record.models):
        return ""
    template = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined).from_string(
        (resources.files("greennlp.report") / "templates" / "analysis.html.j2").read_text())
    return template.render(a=context(record), fmt=fmt, pct=_pct, sel=record.selection,
                           many_classes=MANY_CLASSES)


def _pct(value: float | None) -> str:
    return "none" if value is None else f"{100 * value:.1f}%"


def _fmt3(value: float | None) -> str:
    return "none" if value is None else f"{value:.3f}"


def card_factors(record: RunRecord, best: ModelResult) -> list[str]:
    """The card's Factors: slices (worst named, with its gap) and group fairness."""
    slices = _get(best, "slices")
    if not slices:
        return ["- Slices were not analysed in this run."]
    worst = slices.get("worst")
    lines = [(f"- Test accuracy by slice (automatic: true label, text-length quartile, share "
              f"of unseen words, negation; plus named columns); slices of at least "
              f"{slices['min_size']} examples are compared.")]
    if worst:
        lines.append(f"- Worst slice: **{md(worst['family'])} = {md(worst['slice'])}** ({worst['n']} "
                     f"examples): accuracy {_fmt3(worst['accuracy'])}, "
                     f"{100 * worst['gap']:+.1f} points against the overall "
                     f"{_fmt3(slices['overall_accuracy'])}.")
    else:
        lines.append("- Worst slice: none (no slice has enough examples).")
    for family in dict.fromkeys(r["family"] for r in slices["rows"]):
        rows = [r for r in slices["rows"] if r["family"] == family]
        lines.append(f"- {md(family)}: " + "; ".join(
            f"{md(r['slice'])} {_fmt3(r['accuracy'][0])} (n={r['n']})" for r in rows))
    for col, f in (_get(best, "fairness") or {}).items():
        lines.append(f"- Sensitive column {md(col)} ({f['groups']} groups): demographic-parity "
                     f"difference {f['demographic_parity_difference']:.3f} (class "
                     f"{md(f['demographic_parity_class'])}), equalized-odds difference "
                     f"{f['equalized_odds_difference']:.3f} (class {md(f['equalized_odds_class'])}).")
    return lines


def card_caveats(record: RunRecord, best: ModelResult) -> list[str]:
    """The card's Caveats from the numbers: calibration, abstention, robustness, compression."""
    cal, sel, rob = _get(best, "calibration"), _get(best, "selective"), _get(best, "robustness")
    lines = []
    if cal:
        t = cal["test"]
        line = (f"- Calibration (test): ECE {t['ece']['value']:.3f} [{t['ece']['low']:.3f}, "
                f"{t['ece']['high']:.3f}], Brier {t['brier']['value']:.3f}, NLL "
                f"{t['nll']['value']:.3f}.")
        if cal.get("temperature") is not None:
            line += (f" A temperature of {cal['temperature']:.2f} fitted on dev brings the test "
                     f"ECE to {cal['test_scaled']['ece']['value']:.3f}.")
        lines.append(line)
    if sel:
        line = (f"- Abstaining on the least confident inputs: accuracy "
                f"{_fmt3(sel['accuracy_at_90'])} at 90% coverage, {_fmt3(sel['accuracy_at_80'])} "
                f"at 80%, {_fmt3(sel['accuracy_at_50'])} at 50% (AURC {sel['aurc']:.3f}).")
        if "test_coverage" in sel:
            line += (f" The dev threshold for {sel['target_accuracy']:.0%} accuracy answers "
                     f"{_pct(sel['test_coverage'])} of test inputs at accuracy "
                     f"{_fmt3(sel['test_accuracy'])}." if sel.get("threshold") is not None else
                     f" No dev threshold reaches {sel['target_accuracy']:.0%} accuracy.")
        lines.append(line)
    if rob:
        lines.append("- Robustness (seeded perturbations of " + str(rob["examples"]) +
                     " test inputs): " + "; ".join(
                         f"{k} accuracy {_fmt3(p['accuracy'])}, flips {_pct(p['flip_rate'])}"
                         for k, p in rob["perturbations"].items()) +
                     f" (unperturbed accuracy {_fmt3(rob['accuracy'])}).")
    for name, d in variant_deltas(record).items():
        if d["degraded"]:
            lines.append(f"- Compressed variant {name} is worse than {d['reference']} beyond "
                         f"accuracy: worst-slice accuracy {fmt(d['worst_slice_points'])} points, "
                         f"ECE {fmt(d['ece'])}, flip rate {fmt(d['flip_rate'])}.")
    return lines
