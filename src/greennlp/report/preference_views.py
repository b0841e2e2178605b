"""Read-only views of a preference run's record (``task: preference``), shared by its
report, model card, datasheet and console summary."""

from __future__ import annotations

from typing import Any

from greennlp.record import ModelResult, RunRecord
from greennlp.report.views import ci, fmt, model_costs

TARGET_WIN_RATE = 0.75  # the win rate the issue asks of a DPO policy on held-out prompts


def facts(record: RunRecord, stage: str) -> dict[str, Any]:
    """The metrics of a finished stage (empty when it did not finish)."""
    st = record.stage(stage)
    return dict(st.metrics) if st else {}


def best_of(m: ModelResult) -> int | None:
    """n when the model is best-of-n sampling of the reference, else None."""
    return m.efficiency.get("best_of")


def kind(m: ModelResult) -> str:
    """How a model answers: the reference as is, best-of-n of it, or a DPO policy."""
    if best_of(m):
        return f"best-of-{best_of(m)} of the reference"
    beta = m.training.extra.get("beta")
    return "reference (as is)" if beta is None else f"DPO, beta {beta:g}"


def decoder_models(record: RunRecord) -> list[ModelResult]:
    """The models that answer prompts (every model but the judge), in record order."""
    return [m for m in record.models if "reward" in m.test]


def policies(record: RunRecord) -> list[ModelResult]:
    """The DPO policies, by beta."""
    return sorted((m for m in decoder_models(record) if m.training.extra.get("beta") is not None),
                  key=lambda m: m.training.extra["beta"])


def examples(record: RunRecord, m: ModelResult) -> list[dict[str, Any]]:
    """The generated texts its evaluation kept for the report (none for best-of-n)."""
    return next((facts(record, s).get("examples", {}).get(m.name) for s in m.stages
                 if s.startswith("evaluate:") and record.stage(s)), None) or []


def model_rows(record: RunRecord) -> list[dict[str, Any]]:
    """One row per answering model: held-out reward, win rate and KL with intervals, dev win
    rate, training and the cost of one answer."""
    best = record.select()
    rows = []
    for m in decoder_models(record):
        t = m.training
        rows.append({"name": m.name, "kind": kind(m),
                     "selected": best is not None and best.name == m.name,
                     "reward": m.test.get("reward"), "win_rate": m.test.get("win_rate"),
                     "kl": m.test.get("kl"), "kl_analytic": bool(best_of(m)),
                     "dev_win_rate": m.dev.get("win_rate"), "steps": t.steps,
                     "best_epoch": t.best_epoch, "pairs_per_s": t.extra.get("pairs_per_s"),
                     "trainable_params": t.extra.get("trainable_params"),
                     "answer_cpu_s": m.efficiency.get("sample_cpu_s_per_answer"),
                     "tokens_per_answer": m.efficiency.get("tokens_per_answer"),
                     "examples": examples(record, m), **model_costs(record, m)})
    return rows


def cost_rows(record: RunRecord) -> list[dict[str, Any]]:
    """The cost comparison of the ``compare`` stage (one row per method)."""
    return facts(record, "compare").get("rows", [])


def verdicts(record: RunRecord) -> list[str]:
    """What the run shows about DPO against its targets, in sentences (numbers from the
    record; nothing is claimed that the record does not hold)."""
    best, out = record.select(), []
    rows = {m.name: m for m in decoder_models(record)}
    pols = policies(record)
    if best is not None and best in pols:
        w = best.test["win_rate"]
        met = "meets" if w["value"] >= TARGET_WIN_RATE else "misses"
        out.append(f"The selected policy {best.name} wins {w['value']:.3f} [{w['low']:.3f}, "
                   f"{w['high']:.3f}] of held-out prompts against the reference: it {met} the "
                   f"{TARGET_WIN_RATE:.2f} target.")
    elif pols:
        out.append("No DPO policy beat the reference on dev; the reference is selected.")
    bo4 = next((m for m in rows.values() if best_of(m) == 4), None)
    if bo4 is not None and pols:
        top = max(pols, key=lambda m: m.test["reward"]["value"])
        r, b = top.test["reward"]["value"], bo4.test["reward"]["value"]
        out.append(f"Highest policy reward: {top.name} {r:.3f} at KL {top.test['kl']['value']:.2f} "
                   f"nats, against best-of-4's {b:.3f} (KL at most {bo4.test['kl']['value']:.2f}): "
                   f"{'at least' if r >= b else 'below'} best-of-4.")
    return out


def summary_lines(record: RunRecord) -> list[Any]:
    """The console summary: a table of models, the verdicts and the cost at 1M answers."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"run {record.run_id} ({record.status})", title_justify="left",
                  caption=record.selection.get("reason", ""), caption_justify="left")
    for col in ("model", "held-out reward [95% CI]", "win rate vs reference", "KL (nats)",
                "dev win rate", "DPO steps", "kWh / 1M answers"):
        table.add_column(col, justify="left" if col == "model" else "right")
    per_m = {r["name"]: r["per_million"].get("energy_kwh") for r in cost_rows(record)}
    for r in model_rows(record):
        kl = ci(r["kl"], 2) if not r["kl_analytic"] else f"<= {r['kl']['value']:.2f}"
        table.add_row(r["name"] + (" *" if r["selected"] else ""), ci(r["reward"]),
                      ci(r["win_rate"]), kl, ci(r["dev_win_rate"]).split(" ")[0],
                      fmt(r["steps"]), fmt(per_m.get(r["name"])))
    return [table, *(Text(v) for v in verdicts(record))]
