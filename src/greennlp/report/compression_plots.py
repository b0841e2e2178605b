"""Compression figures: the accuracy/cost Pareto frontier and the early-exit curve."""

from __future__ import annotations

import matplotlib.ticker

from greennlp.evaluate.pareto import pareto_front
from greennlp.evaluate.variants import COST_AXES, root_of
from greennlp.record import ExitPoint, RunRecord
from greennlp.report.plots import COLORS, _png, plt


def _short(name: str) -> str:
    return name if len(name) <= 28 else name[:26] + "..."


def pareto(record: RunRecord, peers: list[dict] | None = None) -> bytes | None:
    """Test accuracy (95% CI) against latency, size and energy per 1M examples.

    Colours group each dense model with its variants; frontier points are ringed and
    joined by a step line. ``peers`` (other tools on the same checkpoint, from the peer
    benchmark) are grey triangles: shown beside the frontier, not part of it.
    """
    models = [m for m in record.models if m.test.get("accuracy")]
    if not any(m.variant_of for m in models):
        return None
    from greennlp.report.analysis_views import variant_deltas

    degraded = {k for k, d in variant_deltas(record).items() if d["degraded"]}
    roots = list(dict.fromkeys(root_of(record, m).name for m in models))
    fig, axes = plt.subplots(1, len(COST_AXES), figsize=(15, 4.6))
    for ax, (key, label) in zip(axes, COST_AXES):
        pts = [(m, m.efficiency.get(key)) for m in models if m.efficiency.get(key)]
        front = pareto_front([m.test["accuracy"]["value"] for m, _ in pts], [c for _, c in pts])
        for (m, cost), on in zip(pts, front):
            acc = m.test["accuracy"]
            color = COLORS[roots.index(root_of(record, m).name) % len(COLORS)]
            ax.errorbar([cost], [acc["value"]], yerr=[[acc["value"] - acc["low"]],
                                                      [acc["high"] - acc["value"]]],
                        fmt="s" if m.variant_of else "o", color=color, capsize=3, ms=6,
                        alpha=0.9 if on else 0.45)
            if m.name in degraded:  # worse than its source in worst slice, ECE or flips
                ax.plot([cost], [acc["value"]], "x", ms=11, color="#c0392b", mew=2)
            if on:
                ax.plot([cost], [acc["value"]], "o", ms=13, mfc="none", mec="black", mew=1.2)
                ax.annotate(_short(m.name), (cost, acc["value"]), textcoords="offset points",
                            xytext=(5, -12), fontsize=7)
        line = sorted((c, m.test["accuracy"]["value"]) for (m, c), on in zip(pts, front) if on)
        if line:
            ax.step([c for c, _ in line], [a for _, a in line], where="post", color="black",
                    lw=0.8, alpha=0.6)
        for p in peers or []:
            if p.get(key) and p.get("test_accuracy") is not None:
                ax.plot([p[key]], [p["test_accuracy"]], "^", color="#7f7f7f", ms=7)
                ax.annotate(_short(p["name"]), (p[key], p["test_accuracy"]), fontsize=6,
                            color="#555555", textcoords="offset points", xytext=(4, 4))
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(label + ", log scale")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy")
    handles = [plt.Line2D([], [], color=COLORS[i % len(COLORS)], marker="o", ls="", label=r)
               for i, r in enumerate(roots)]
    handles.append(plt.Line2D([], [], color="black", marker="o", mfc="none", ls="-", lw=0.8,
                              label="Pareto frontier"))
    if peers:
        handles.append(plt.Line2D([], [], color="#7f7f7f", marker="^", ls="",
                                  label="peers on the same checkpoint (benchmark)"))
    if degraded:
        handles.append(plt.Line2D([], [], color="#c0392b", marker="x", ls="", mew=2,
                                  label="worse beyond accuracy"))
    axes[-1].legend(handles=handles, fontsize=8, loc="lower right")
    fig.suptitle("Accuracy against inference cost (circles: dense models, squares: compressed)",
                 fontsize=11)
    fig.tight_layout()
    return _png(fig)


def early_exit_curve(curve: list[ExitPoint], title: str) -> bytes | None:
    """Accuracy against mean exit layer and against measured throughput, per threshold."""
    if not curve:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, by_split in zip(axes, (True, False)):
        for split, color in (("dev", COLORS[0]), ("test", COLORS[1])):
            xs = [getattr(r, f"{split}_mean_exit_layer") if by_split else r.throughput_b32
                  for r in curve]
            ys = [getattr(r, f"{split}_accuracy") for r in curve]
            ax.plot(xs, ys, "o-", color=color, label=split)
            for r, x, y in zip(curve, xs, ys):
                ax.annotate(f"{r.threshold:g}", (x, y), textcoords="offset points",
                            xytext=(4, -11), fontsize=7)
                if r.chosen and split == "dev":
                    ax.plot([x], [y], "*", ms=14, color="black", label="chosen on dev")
        ax.set_xlabel("mean exit layer" if by_split else
                      "measured throughput at batch 32 (examples/s, dev texts)")
        ax.set_ylabel("accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Early exit: {title} (labels: confidence threshold)", fontsize=11)
    fig.tight_layout()
    return _png(fig)
