"""Figures of a preference run (matplotlib, PNG bytes): the reward-KL frontier and the
DPO training curves."""

from __future__ import annotations

from greennlp.record import RunRecord
from greennlp.report.plots import COLORS, _png, plt
from greennlp.report.preference_views import best_of, decoder_models, policies


def _err(m: dict[str, float]) -> list[list[float]]:
    return [[m["value"] - m["low"]], [m["high"] - m["value"]]]


def frontier(record: RunRecord) -> bytes | None:
    """Held-out mean reward against KL from the reference: a point per DPO beta (95%
    intervals on both axes), best-of-n at its analytical KL bound, the reference at 0."""
    models = decoder_models(record)
    if not models:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.2))
    pols = policies(record)
    if pols:
        ax.plot([m.test["kl"]["value"] for m in pols], [m.test["reward"]["value"] for m in pols],
                "-", color=COLORS[0], alpha=0.5)
    for m in models:
        beta = m.training.extra.get("beta")
        if best_of(m):
            color, marker, label = COLORS[1], "s", f"best-of-{best_of(m)}"
        elif beta is None:
            color, marker, label = COLORS[2], "D", "reference"
        else:
            color, marker, label = COLORS[0], "o", f"DPO beta={beta:g}"
        xerr = None if best_of(m) else _err(m.test["kl"])
        ax.errorbar([m.test["kl"]["value"]], [m.test["reward"]["value"]], xerr=xerr,
                    yerr=_err(m.test["reward"]), fmt=marker, color=color, capsize=3)
        ax.annotate(label, (m.test["kl"]["value"], m.test["reward"]["value"]),
                    textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.set_xlabel("KL(model || reference), nats per answer (best-of-n: analytical bound)")
    ax.set_ylabel("mean reward on held-out prompts (judge)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _png(fig)


def training_curves(record: RunRecord) -> bytes | None:
    """Per DPO policy: train loss and held-out DPO loss per epoch."""
    pols = [m for m in policies(record) if m.training.history]
    if not pols:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for i, m in enumerate(pols):
        h, color = m.training.history, COLORS[i % len(COLORS)]
        beta = m.training.extra["beta"]
        ax.plot([e.steps for e in h], [e.train_loss for e in h], "o-", color=color,
                label=f"beta={beta:g} train")
        held = [e for e in m.training.extra.get("held_out", []) if e]
        if held:
            ax.plot([e.steps for e in h][:len(held)], [x["loss"] for x in held], "s--",
                    color=color, label=f"beta={beta:g} held-out pairs")
    ax.set_xlabel("optimizer steps")
    ax.set_ylabel("DPO loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)
