"""Report figures (matplotlib, Agg backend), returned as PNG bytes."""

from __future__ import annotations

import io

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be set first)
import numpy as np  # noqa: E402

from greennlp.record import RunRecord  # noqa: E402
from greennlp.report.views import model_rows  # noqa: E402

COLORS = ["#2a9d8f", "#e76f51", "#264653", "#e9c46a", "#8ab17d", "#6d597a", "#f4a261"]


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def accuracy_vs_cost(record: RunRecord) -> bytes | None:
    """Test accuracy (with 95% CI) against training energy and inference latency."""
    rows = [r for r in model_rows(record) if r["test_accuracy"]
            and (r.get("train_energy_kwh") or r.get("latency_ms"))]
    if not rows:  # e.g. a preference run's judge: an accuracy, but no cost to plot it by
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    panels = [("train_energy_kwh", "training energy (kWh, log scale)"),
              ("latency_ms", "latency at batch 1 (ms/example, log scale)")]
    for ax, (key, xlabel) in zip(axes, panels):
        for i, r in enumerate(rows):
            x = r.get(key)
            if not x:
                continue
            acc = r["test_accuracy"]
            ax.errorbar([x], [acc["value"]], yerr=[[acc["value"] - acc["low"]],
                                                   [acc["high"] - acc["value"]]],
                        fmt="o", color=COLORS[i % len(COLORS)], capsize=4, ms=8, label=r["name"])
            ax.annotate(r["name"], (x, acc["value"]), textcoords="offset points", xytext=(6, 6),
                        fontsize=9)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.LogFormatterSciNotation(labelOnlyBase=True))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test accuracy")
        ax.grid(alpha=0.3)
    axes[0].set_title("Accuracy against training cost")
    axes[1].set_title("Accuracy against inference cost")
    fig.tight_layout()
    return _png(fig)


def confusion(matrix: list[list[int]], labels: list[str], title: str) -> bytes:
    """A confusion matrix heat map with counts (rows: true class)."""
    cm = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(labels), 1.0 + 0.8 * len(labels)))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45 if len(labels) > 4 else 0)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = cm.max() / 2 if cm.size else 0
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center",
                color="white" if v > threshold else "black", fontsize=9)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return _png(fig)


def stage_groups(record: RunRecord) -> list[tuple[str, float, float]]:
    """(label, wall seconds, Wh) per stage; search trials and seed runs of a family are
    summed into one bar each so the chart stays readable."""
    groups: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for s in record.stages:
        if s.status != "ok":
            continue
        parts = s.name.split(":")
        key = ":".join(parts[:2]) if parts[0] in ("search", "seed") else s.name
        total = groups.setdefault(key, [0.0, 0.0])
        total[0] += s.duration_s
        total[1] += (s.energy_kwh or 0.0) * 1e3
        counts[key] = counts.get(key, 0) + 1
    return [(f"{k} ({counts[k]} runs)" if counts[k] > 1 else k, v[0], v[1])
            for k, v in groups.items()]


def cost_per_stage(record: RunRecord) -> bytes | None:
    """Wall time and energy of each finished stage (trials and seeds grouped)."""
    groups = stage_groups(record)
    if not groups:
        return None
    names = [g[0] for g in groups]
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.5 + 0.35 * len(names)), sharey=True)
    y = np.arange(len(names))
    axes[0].barh(y, [g[1] for g in groups], color=COLORS[0])
    axes[0].set_xlabel("wall time (s)")
    axes[1].barh(y, [g[2] for g in groups], color=COLORS[1])
    axes[1].set_xlabel("energy (Wh)")
    axes[0].set_yticks(y, names)
    axes[0].invert_yaxis()
    for ax in axes:
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("Cost per stage", fontsize=11)
    fig.tight_layout()
    return _png(fig)


def training_curves(record: RunRecord) -> bytes | None:
    """Train loss and dev accuracy per epoch for the torch models."""
    models = [m for m in record.models if m.training.history]
    if not models:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for i, m in enumerate(models):
        hist = m.training.history
        epochs = [h.epoch for h in hist]
        color = COLORS[i % len(COLORS)]
        axes[0].plot(epochs, [h.train_loss for h in hist], "o-", color=color, label=m.name)
        axes[1].plot(epochs, [h.dev_score for h in hist], "o-", color=color, label=m.name)
    axes[0].set_ylabel("train loss")
    axes[1].set_ylabel(f"dev {record.selection_metric.replace('_', ' ')} (selection metric)")
    for ax in axes:
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


EVP_AXES = [("n", "number of trials"), ("duration_s", "budget: wall time (s)"),
            ("energy_kwh", "budget: energy (kWh)"), ("co2_kg", "budget: CO2e (kg)"),
            ("cost_usd", "budget: cost ($)")]


def expected_validation(curves: dict[str, dict[str, list[float]]],
                        points: dict[str, dict[str, float]]) -> bytes | None:
    """Expected best dev accuracy against trials and budget, one curve per family.

    ``curves`` come from :func:`greennlp.evaluate.evp.evp_curve` (random or grid search);
    ``points`` are families trained once (a single trial at its measured cost).
    """
    if not curves and not points:
        return None
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.4))
    flat = axes.ravel()
    for ax, (key, label) in zip(flat, EVP_AXES):
        for i, (family, c) in enumerate(curves.items()):
            if key not in c:
                continue
            x, mean, std = np.array(c[key]), np.array(c["mean"]), np.array(c["std"])
            ax.plot(x, mean, "-", color=COLORS[i % len(COLORS)], label=family)
            ax.fill_between(x, mean - std, mean + std, color=COLORS[i % len(COLORS)], alpha=0.15)
        for j, (family, p) in enumerate(points.items()):
            if p.get(key) is not None:
                ax.plot([p[key]], [p["score"]], "D", color=COLORS[(len(curves) + j) % len(COLORS)],
                        ms=7, label=f"{family} (1 run)")
        if key != "n":
            ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("expected best dev accuracy")
        ax.grid(alpha=0.3)
    handles, labels = flat[0].get_legend_handles_labels()
    for ax in flat[1:5]:
        h, lab = ax.get_legend_handles_labels()
        handles += [x for x, y in zip(h, lab) if y not in labels]
        labels += [y for y in lab if y not in labels]
    flat[5].axis("off")
    flat[5].legend(handles, labels, loc="center", title="model family (mean +/- 1 sd)")
    fig.suptitle("Expected validation performance (Dodge et al. 2019)", fontsize=11)
    fig.tight_layout()
    return _png(fig)


def seed_strategies(strategies: dict[str, dict]) -> bytes | None:
    """Best dev accuracy against the energy of the seeds: the EVP curve of seeds all trained
    to the end, and the early-stopped and all-to-the-end strategies as points
    (:func:`greennlp.report.cheaper_views.seed_strategies`)."""
    if not strategies:
        return None
    fig, axes = plt.subplots(1, len(strategies), figsize=(5.2 * len(strategies), 3.8),
                             squeeze=False)
    for ax, (family, s) in zip(axes[0], strategies.items()):
        if s["curve"]:
            c = s["curve"]
            x, mean, std = np.array(c["energy_kwh"]), np.array(c["mean"]), np.array(c["std"])
            ax.plot(x, mean, "-", color=COLORS[0], label="all to the end: EVP of n seeds")
            ax.fill_between(x, mean - std, mean + std, color=COLORS[0], alpha=0.15)
        for key, color, marker in (("all", COLORS[2], "D"), ("early", COLORS[1], "o")):
            p = s[key]
            if not p or p["budget"] is None:
                continue
            label = (f"all {s['n']} to the end" if key == "all" else
                     f"early-stopped: {s['n']} started, {s['keep']} continued")
            label += " (estimate)" if p["estimated"] else ""
            if p["score"] is None:
                ax.axvline(p["budget"], color=color, ls="--", label=label + ": cost only")
            else:
                ax.plot([p["budget"]], [p["score"]], marker, color=color, ms=8, label=label,
                        mfc="none" if p["estimated"] else color)
        ax.set_xlabel("energy of the seeds (kWh)")
        ax.set_ylabel("best dev accuracy")
        ax.set_title(family)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Seeds: all to the end against early-stopped (Dodge et al. 2020)", fontsize=11)
    fig.tight_layout()
    return _png(fig)


def data_budget(view: dict | None) -> bytes | None:
    """Test accuracy against training energy, with the cost of ranking the training data
    added (:func:`greennlp.report.cheaper_views.data_budget`)."""
    if not view:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for i, p in enumerate(view["points"]):
        acc, color = p["accuracy"], COLORS[i % len(COLORS)]
        err = [[acc["value"] - acc["low"]], [acc["high"] - acc["value"]]]
        ax.errorbar([p["train_kwh"]], [acc["value"]], yerr=err, fmt="o", color=color,
                    capsize=4, ms=7, label=p["name"])
        if view["ranking_kwh"]:
            ax.plot([p["train_kwh"], p["with_ranking_kwh"]], [acc["value"]] * 2, "-", color=color)
            ax.plot([p["with_ranking_kwh"]], [acc["value"]], "o", mfc="none", color=color, ms=7)
    sub = view["subset"]
    ax.set_title(f"trained on {sub['fraction']:.0%} of the data ({sub['ranking']}; hollow: "
                 f"with the ranking's cost)" if sub else "trained on all the training data",
                 fontsize=9)
    ax.set_xscale("log")
    ax.set_xlabel("training energy (kWh, log scale)")
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)
