"""Beyond-accuracy figures: the reliability diagram and risk-coverage curves."""

from __future__ import annotations

from greennlp.record import ModelResult
from greennlp.report.plots import COLORS, _png, plt


def reliability(model: ModelResult) -> bytes | None:
    """Accuracy against confidence per bin, before and after temperature scaling."""
    cal = model.analysis.get("calibration") if model.analysis else None
    if not cal or not cal.get("reliability"):
        return None
    panels = [("as trained", cal["reliability"], cal["test"]["ece"]["value"])]
    if cal.get("reliability_scaled"):
        panels.append((f"temperature {cal['temperature']:.2f} (fitted on dev)",
                       cal["reliability_scaled"], cal["test_scaled"]["ece"]["value"]))
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, (title, rows, ece) in zip(axes[0], panels):
        width = rows[0]["high"] - rows[0]["low"]
        ax.bar([r["low"] for r in rows], [r["accuracy"] for r in rows], width=width,
               align="edge", color=COLORS[0], edgecolor="white", label="accuracy")
        ax.bar([r["low"] for r in rows], [r["confidence"] - r["accuracy"] for r in rows],
               bottom=[r["accuracy"] for r in rows], width=width, align="edge",
               color=COLORS[1], alpha=0.35, label="gap to confidence")
        ax.plot([0, 1], [0, 1], "--", color="black", lw=0.8)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence (top probability)")
        ax.set_ylabel("accuracy")
        ax.set_title(f"{title}: ECE {ece:.3f}", fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(f"Reliability diagram, test: {model.name}", fontsize=11)
    fig.tight_layout()
    return _png(fig)


def risk_coverage(models: list[ModelResult]) -> bytes | None:
    """Risk (error rate of the answered inputs) against coverage, one curve per model."""
    curves = [(m.name, m.analysis["selective"]["curve"]) for m in models
              if m.analysis.get("selective", {}).get("curve")]
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (name, curve) in enumerate(curves):
        ax.plot([p["coverage"] for p in curve], [p["risk"] for p in curve],
                color=COLORS[i % len(COLORS)], lw=1.4, label=name,
                ls="-" if "+" not in name else ":")
    ax.set_xlabel("coverage (share of test inputs answered, most confident first)")
    ax.set_ylabel("risk (error rate of the answered)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return _png(fig)
