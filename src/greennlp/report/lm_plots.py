"""Figures of an LM run (matplotlib, PNG bytes): quality with CIs, curves, scaling."""

from __future__ import annotations

import matplotlib.ticker
import numpy as np

from greennlp.record import RunRecord
from greennlp.report.lm_views import lm_rows, scaling
from greennlp.report.plots import COLORS, _png, plt


def bits_per_char(record: RunRecord) -> bytes | None:
    """Test bits per character with CIs (all models on the SmolLM2 subsample too)."""
    rows = [r for r in lm_rows(record) if r["bpc"] or r["sub_bpc"]]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(8, 0.7 + 0.55 * len(rows)))
    labelled: set[str] = set()
    for i, r in enumerate(rows):
        for offset, key, label in ((-0.15, "bpc", "whole test split"),
                                   (0.15, "sub_bpc", "SmolLM2 subsample")):
            m = r[key]
            if not m:
                continue
            ax.errorbar([m["value"]], [i + offset],
                        xerr=[[m["value"] - m["low"]], [m["high"] - m["value"]]],
                        fmt="o" if key == "bpc" else "s", capsize=4,
                        color=COLORS[0 if key == "bpc" else 1],
                        label=None if label in labelled else label)
            labelled.add(label)
    ax.set_yticks(range(len(rows)), [r["name"] for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel("test bits per character (lower is better; 95% bootstrap CI)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def lm_training_curves(record: RunRecord) -> bytes | None:
    """Train loss and dev perplexity per epoch of the trained torch models."""
    models = [m for m in record.models if m.training.history]
    if not models:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for i, m in enumerate(models):
        t, color = m.training, COLORS[i % len(COLORS)]
        tokens = [h.steps / max(1, t.steps or 1) * (t.tokens_trained or 0) for h in t.history]
        axes[0].plot(tokens, [h.train_loss for h in t.history], "o-", color=color, label=m.name)
        axes[1].plot(tokens, [np.exp(-h.dev_score) for h in t.history], "o-", color=color,
                     label=m.name)
    axes[0].set_ylabel("train loss since the previous point (nats/token)")
    axes[1].set_ylabel("dev perplexity")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("training tokens")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def scaling_plot(record: RunRecord) -> bytes | None:
    """Dev loss against non-embedding parameters and against training compute, with fits."""
    sweep = scaling(record)
    if not sweep:
        return None
    runs, fit = sweep["runs"], sweep["fit"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    n = np.array([r["params_non_embedding"] for r in runs], float)
    axes[0].plot(n, [r["final_loss"] for r in runs], "o", color=COLORS[0])
    law = fit["loss_vs_params"]
    grid = np.geomspace(n.min(), n.max(), 50)
    axes[0].plot(grid, (law["scale"] / grid) ** law["exponent"], "--", color=COLORS[2],
                 label=f"L(N) = (N_c/N)^{law['exponent']:.3f}")
    axes[0].set_xlabel("non-embedding parameters N")
    for i, r in enumerate(runs):
        c = [p["compute_flops"] for p in r["curve"]]
        axes[1].plot(c, [p["loss"] for p in r["curve"]], "o-", ms=3, color=COLORS[i % len(COLORS)],
                     label=f"d_model={r['width']}")
    if "loss_vs_compute" in fit:
        law = fit["loss_vs_compute"]
        front = [p["compute_flops"] for p in fit["frontier"]]
        grid = np.geomspace(min(front), max(front), 50)
        axes[1].plot(grid, (law["scale"] / grid) ** law["exponent"], "--", color="black",
                     label=f"frontier L(C) = (C_c/C)^{law['exponent']:.3f}")
    axes[1].set_xlabel("training compute C (FLOPs)")
    for ax in axes:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # labels overlap
        ax.set_ylabel("dev loss (nats/token)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


KIND_STYLE = {"scratch": ("o", 0, "trained from scratch here"),
              "as_is": ("^", 1, "pretrained, as is (pretraining cost not counted)"),
              "adapted": ("s", 2, "pretrained, then adapted here (adaptation cost)")}


def bpc_vs_cost(record: RunRecord) -> bytes | None:
    """Bits per character on the same text against what making the model cost here
    (energy, money): trained from scratch against pretrained and adapted."""
    rows = [r for r in lm_rows(record) if r["sub_bpc"] and r["train_energy_kwh"]]
    if not rows:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, key, label in ((axes[0], "train_energy_kwh", "energy to train / adapt here (kWh)"),
                           (axes[1], "train_cost_usd", "cost to train / adapt here ($)")):
        seen: set[str] = set()
        for r in rows:
            if not r.get(key):
                continue
            marker, color, name = KIND_STYLE[r["kind"]]
            m = r["sub_bpc"]
            ax.errorbar([r[key]], [m["value"]], yerr=[[m["value"] - m["low"]], [m["high"] - m["value"]]],
                        fmt=marker, color=COLORS[color], capsize=3,
                        label=None if name in seen else name)
            seen.add(name)
            ax.annotate(r["name"], (r[key], m["value"]), textcoords="offset points",
                        xytext=(5, 4), fontsize=7)
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("bits per character (same test text)")
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)
