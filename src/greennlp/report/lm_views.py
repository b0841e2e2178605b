"""Read-only views of an LM run's record (``task: lm``) shared by its report formats."""

from __future__ import annotations

from typing import Any

from greennlp.record import RunRecord
from greennlp.report.views import ci, family_of, fmt, main_metric, metric_name, model_costs, origin


def lm_rows(record: RunRecord) -> list[dict[str, Any]]:
    """One row per model: size, quality with CIs, training speed and cost."""
    rows = []
    for m in record.models:
        costs = model_costs(record, m)
        metric, t = main_metric(m), m.training
        rows.append({
            "name": m.name, "params": m.params_total, "params_non_embedding": m.params_non_embedding,
            "tokens_trained": t.tokens_trained, "tokens_per_s": t.tokens_per_s, "mfu": t.mfu,
            "metric": metric_name(metric), "dev": m.dev.get(metric), "test": m.test.get(metric),
            "bpc": m.test.get("bits_per_char"), "sub_bpc": m.test.get("subsample_bits_per_char"),
            "sub_metric": m.test.get(f"subsample_{metric}"),
            "documents": m.efficiency.get("test_documents"),
            "eval_tokens_per_s": m.efficiency.get("eval_tokens_per_s"),
            "flops_per_token": m.efficiency.get("forward_flops_per_token"),
            "optimality": (t.compute_optimality or {}).get("verdict"),
            "tokenizer": m.efficiency.get("tokenizer"), "scoring": m.efficiency.get("scoring"),
            "kind": origin(m), "windowed": _windowed(m), "adapted": t.extra.get("dev_loss_before") is not None and {
                "before": t.extra["dev_loss_before"], "after": t.extra.get("dev_loss_after"),
                "documents": t.extra.get("dev_documents")}, **costs})
    return rows


def _windowed(m) -> bool:
    """Scored as running text with a sliding window of tokens (not an n-gram's last n - 1
    tokens; not a masked LM, which sees both sides)."""
    fam = family_of(m)
    return fam is not None and fam.sliding_window and not fam.masked


def scoring_line(record: RunRecord) -> str:
    """How every model was scored, in one sentence for the report."""
    rows = [r for r in lm_rows(record) if r["scoring"]]
    if not rows:
        return ""
    first = rows[0]["scoring"]
    if first["protocol"] == "documents":
        return (f"Scoring: {first['joined']}; bootstrap over {first['bootstrap_unit']}s "
                "(lm.evaluation.protocol=documents).")
    windows = ", ".join(f"{r['name']} {r['scoring']['window']}/{r['scoring']['stride']}"
                        for r in rows if r["windowed"])
    return (f"Scoring: running text ({first['joined']}), a sliding window, each token scored "
            f"once with at least window - stride tokens of context (window/stride in tokens, "
            f"capped at what a model reads: {windows}; the n-gram reads its last n - 1 tokens); "
            f"bootstrap over {first['bootstrap_unit']}.")


def samples(record: RunRecord) -> list[tuple[str, list[dict[str, str]]]]:
    """(model, [{prompt, continuation}]) for every model that wrote text."""
    return [(s.name.split(":", 1)[1], s.metrics["samples"]) for s in record.stages
            if s.name.startswith("evaluate:") and s.metrics.get("samples")]


def peak(record: RunRecord) -> dict[str, Any] | None:
    st = record.stage("benchmark:matmul")
    return st.metrics if st else None


def scaling(record: RunRecord) -> dict[str, Any] | None:
    st = record.stage("scaling")
    return st.metrics if st else None


def summary_lines(record: RunRecord) -> list[str]:
    """Plain-text lines for the end of ``greennlp run``."""
    lines = []
    for r in lm_rows(record):
        speed = f", {fmt(r['tokens_per_s'])} tokens/s" if r["tokens_per_s"] else ""
        mfu = f" ({r['mfu']:.1%} of matmul peak)" if r["mfu"] else ""
        bpc = f", {ci(r['bpc'])} bits/char" if r["bpc"] else (
            f", {ci(r['sub_bpc'])} bits/char on the subsample" if r["sub_bpc"] else "")
        lines.append(f"{r['name']}: test {r['metric']} {ci(r['test'], 2)}{bpc}{speed}{mfu}")
    return lines
