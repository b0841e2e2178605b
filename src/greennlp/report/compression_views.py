"""The compression parts of the reports, read from the record (nothing is measured here)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from greennlp.evaluate.variants import summarize
from greennlp.record import ModelResult, RunRecord
from greennlp.report.analysis_views import variant_deltas
from greennlp.report.views import ci, fmt

PEERS_FILE = "compression_peers.json"  # written by benchmarks/compression_peers.py


def _none(value: float | None) -> str:
    """An accuracy of a set that may be empty: 'none' then, never 0 or a dash."""
    return "none" if value is None else f"{value:.3f}"


def _b64(png: bytes | None) -> str | None:
    return base64.b64encode(png).decode("ascii") if png else None


def _detail(m: ModelResult) -> str:
    """One line on what was done to a variant, from its recorded facts."""
    c = m.compression
    method = c.method if c else ""
    if method == "pruning":
        return (f"{c.get('criterion')} {c.get('scope')} {c.get('schedule')}; "
                f"{fmt(c.get('pruned_weights_nonzero'))} of {fmt(c.get('pruned_weights_total'))} "
                f"encoder weights non-zero (sparsity {c.get('sparsity', 0):.1%}); "
                f"{fmt(c.get('params_nonzero'))} non-zero parameters in all")
    if method == "distillation":
        return (f"{c.get('student_layers')} layers, T={c.get('temperature')}, "
                f"alpha={c.get('alpha')}, from teacher layers {c.get('teacher_layers')}")
    if method == "early_exit":
        return f"exits after layers {c.get('exit_layers')}, threshold {c.get('threshold')} (dev)"
    if method in ("quantization", "export"):
        return f"{c.get('backend')}; {c.get('weights')}"
    if method == "structured_pruning":
        return _structured_detail(c)
    if method == "runtime":
        won = c.get("fastest_runtime_of_student") or {}
        margin = won.get("margin_over_next")
        return (f"{c.get('runtime')}, chosen on dev by measured speed"
                + (f" ({margin:.2f}x over the next runtime)" if margin else "")
                + f"; dev agreement with its student {fmt(c.get('dev_agreement_with_student'))}")
    return method


def _structured_detail(c: Any) -> str:
    """Structured pruning: what was kept, how the student was distilled, its vocabulary."""
    shape, vocab = c.get("shape") or {}, c.get("vocabulary") or {}
    losses = ", ".join(["logits", *(c.get("losses") or [])])
    extra = c.get("augmented_texts") or {}
    aug = ", ".join(f"{v} {k.replace('_', '-')}" for k, v in extra.items()) or "none"
    return (f"{shape.get('layers')} layers (teacher's {c.get('kept_layers')}), "
            f"{shape.get('heads') or 'all'} heads and FFN width {shape.get('ffn') or 'full'} "
            f"per layer (Michel et al. importance); distilled on {losses}; augmented texts: "
            f"{aug}" + (f"; vocabulary {vocab['vocab_after']} of {vocab['vocab_before']} tokens"
                        if vocab.get("trimmed") else ""))


def variant_table(record: RunRecord) -> list[dict[str, Any]]:
    """Every model with its inference costs; variants with drops and speed-ups."""
    summary = {r["name"]: r for r in summarize(record)["variants"]}
    deltas = variant_deltas(record)
    rows = []
    for m in record.models:
        e, s, d = m.efficiency, summary.get(m.name, {}), deltas.get(m.name, {})
        fidelity = m.compression.fidelity_dev if m.compression else None
        rows.append({
            "name": m.name, "source": m.variant_of or "-", "detail": _detail(m) if m.variant_of else "dense",
            "dev": ci(m.dev.get("accuracy")), "test": ci(m.test.get("accuracy")),
            "drop": s.get("drop_points"), "latency_ms": e.get("latency_ms_b1"),
            "throughput": e.get("throughput_b32"), "size_mb": e.get("size_mb"),
            "latency_ms_b32": e.get("latency_ms_b32") or (32e3 / e["throughput_b32"]
                                                          if e.get("throughput_b32") else None),
            "sparse_size_mb": m.compression.get("sparse_size_mb_computed") if m.compression else None,
            "energy_kwh_per_1m": e.get("energy_kwh_per_1m"), "co2_kg_per_1m": e.get("co2_kg_per_1m"),
            "cost_usd_per_1m": e.get("cost_usd_per_1m"),
            "throughput_speedup": s.get("throughput_speedup"),
            "latency_speedup": s.get("latency_speedup"),
            "agreement": fidelity.agreement if fidelity else None,
            "max_abs_diff": fidelity.max_abs_diff if fidelity else None,
            "worst_slice_change": d.get("worst_slice_points"), "ece_change": d.get("ece"),
            "flip_rate_change": d.get("flip_rate"), "degraded": d.get("degraded", False),
        })
    return rows


def early_exit_models(record: RunRecord) -> list[ModelResult]:
    return [m for m in record.models if m.compression and m.compression.curve]


def context(record: RunRecord, figures: bool = True) -> dict[str, Any]:
    """Everything the compression sections use (the plots only when ``figures``)."""
    from greennlp.report import compression_plots as plots

    if not any(m.variant_of for m in record.models) and not record.compression.pie:
        return {"enabled": False}
    cfg = record.config.get("compress", {})
    summary = summarize(record, cfg.get("max_drop_points", 1.0), record.compression.reference)
    curves = [(m.name, m.compression.curve,
               _b64(plots.early_exit_curve(m.compression.curve, m.name)) if figures else None)
              for m in early_exit_models(record)]
    peers = peer_points(record)
    return {"enabled": True, "rows": variant_table(record), "summary": summary,
            "best": summary.get("best"), "peers": peers,
            "pareto_png": _b64(plots.pareto(record, peers)) if figures else None,
            "curves": curves, "pie": record.compression.pie, "fmt": fmt, "share": _none,
            "caveat": failed_reference(record, summary.get("best"))}


def peer_points(record: RunRecord) -> list[dict[str, Any]]:
    """The peers' models measured by ``benchmarks/compression_peers.py`` for this run
    (empty when it has not run): name, test accuracy, latency, energy, speed-up."""
    path = Path(record.run_dir or ".") / "benchmarks" / PEERS_FILE
    if not record.run_dir or not path.exists():
        return []
    rows = json.loads(path.read_text()).get("rows", {})
    return [{"name": name, **row} for name, row in rows.items() if row.get("kind") == "peer"]


def failed_reference(record: RunRecord, best: dict[str, Any] | None) -> str:
    """A caveat when the best variant's reference failed its sanity check on test."""
    ref = record.model(best["reference"]) if best else None
    warning = (ref.sanity or {}).get("test", {}).get("warning") if ref else None
    return (f" Caveat: {best['reference']} failed its sanity check (one class for nearly all "
            f"inputs, or no better than the majority class), so this comparison says little."
            if warning else "")


def best_sentence(best: dict[str, Any] | None, max_drop: float) -> str:
    """The note's headline: the best variant's accuracy drop and speed-up."""
    if not best:
        return (f"No compressed variant stayed within {max_drop:g} accuracy point(s) of its "
                f"reference on dev.")
    return (f"Best variant within {max_drop:g} point(s) of {best['reference']} on dev: "
            f"**{best['name']}**: test accuracy {best['test_accuracy']:.3f} "
            f"({-best['drop_points']:+.2f} points against {best['reference']}), "
            f"{fmt(best['throughput_speedup'])}x throughput at batch 32 and "
            f"{fmt(best['latency_speedup'])}x lower latency at batch 1 ({best.get('speedup_timing', '')} "
            f"on this machine).")


def card_section(record: RunRecord) -> list[str]:
    """The model card's compression section (empty when nothing was compressed)."""
    ctx = context(record, figures=False)
    if not ctx["enabled"]:
        return []
    max_drop = ctx["summary"].get("max_drop_points", 1.0)
    lines = ["## Compression",
             f"- {best_sentence(ctx['best'], max_drop)}{failed_reference(record, ctx['best'])}",
             "- Energy per 1M examples is an estimate from the run's energy backends while "
             "running batches of 32 (see Environmental impact for the method).", "",
             "| model | from | what was done | test accuracy (95% CI) | latency b=1 (ms) | "
             "throughput b=32 (/s) | size (MB) | energy / 1M ex. (kWh) | cost / 1M ex. ($) | "
             "speed-up b=32 | worst-slice change (points) | ECE change | flip-rate change |",
             "|" + "---|" * 13]
    for r in ctx["rows"]:
        mark = " (worse beyond accuracy)" if r["degraded"] else ""
        lines.append(f"| {r['name']}{mark} | {r['source']} | {r['detail']} | {r['test']} | "
                     f"{fmt(r['latency_ms'])} | {fmt(r['throughput'])} | {fmt(r['size_mb'])} | "
                     f"{fmt(r['energy_kwh_per_1m'])} | {fmt(r['cost_usd_per_1m'])} | "
                     f"{fmt(r['throughput_speedup'])} | {fmt(r['worst_slice_change'])} | "
                     f"{fmt(r['ece_change'])} | {fmt(r['flip_rate_change'])} |")
    lines += _frontier_lines(record) + _peer_lines(ctx["peers"])
    pie = ctx["pie"]
    if pie:
        acc = pie.accuracy
        lines += ["", f"- What compression forgot (PIE audit, Hooker et al. 2019): {pie.count} "
                      f"of {pie.examples_total} test examples ({pie.fraction:.1%}) change "
                      f"their modal label when {pie.dense_members} {pie.model} models are "
                      f"pruned to {pie.sparsity:.0%}. Dense accuracy on them "
                      f"{_none(acc['dense_on_pies'])} (compressed "
                      f"{_none(acc['compressed_on_pies'])}) against {_none(acc['dense_on_rest'])} "
                      f"on the rest.",
                  "- Per-class recall change (compressed minus dense): "
                  + ", ".join(f"{c.label} {c.recall_change:+.3f}" for c in pie.per_class
                              if c.recall_change is not None) + "."]
    return lines + [""]


def _frontier_lines(record: RunRecord) -> list[str]:
    """What the frontier plan searched and which runtime won for each student."""
    stage = record.stage("compress:frontier")
    if stage is None:
        return []
    m = stage.metrics
    won = "; ".join(f"{shape}: {w['runtime']}" + (f" ({w['margin_over_next']:.2f}x over the "
                                                   f"next)" if w.get("margin_over_next") else "")
                    for shape, w in (m.get("fastest_runtime") or {}).items())
    return ["", f"- Frontier plan: {m.get('students')} structurally pruned students distilled, "
                f"{m.get('candidates')} student x runtime candidates scored and timed on dev; "
                f"chosen on dev (the Pareto set) and scored on test once: "
                f"{', '.join(m.get('chosen') or []) or 'none'}. Fastest runtime measured per "
                f"student: {won or 'none'}."]


def _peer_lines(peers: list[dict[str, Any]]) -> list[str]:
    """The peers' models on the same checkpoint, from the peer benchmark."""
    if not peers:
        return []
    lines = ["", "- Peers on the same checkpoint (`benchmarks/compression_peers.py`, timed "
                 "side by side with this run's variants):", "",
             "| peer | test accuracy | speed-up b=32 | latency b=1 (ms) |", "|---|---|---|---|"]
    for p in peers:
        lines.append(f"| {p['name']} | {p['test_accuracy']:.3f} | {fmt(p['throughput_speedup'])} "
                     f"| {fmt(p['latency_ms_b1'])} |")
    return lines

