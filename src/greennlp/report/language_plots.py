"""The figure of the sweep over temperature sampling (matplotlib, PNG bytes)."""

from __future__ import annotations

from typing import Any

from greennlp.report.plots import _png, plt


def alpha_plot(s: dict[str, Any] | None) -> bytes | None:
    """Per language, test bits per character against alpha (left) and its change against
    alpha = 1 (right); the head languages solid, the tail dashed (Conneau et al. 2020).
    ``s``: :func:`greennlp.report.language_views.sweep`."""
    if s is None or len(s["alphas"]) < 2:
        return None
    alphas = [float(a) for a in s["alphas"]]
    points = [s["points"][a]["test"] for a in s["alphas"]]
    sizes = s["summary"]["sizes"]
    ref = s["alphas"][[float(a) for a in s["alphas"]].index(s["summary"]["reference_alpha"])]
    ordered = sorted(sizes, key=lambda k: -sizes[k])
    head = set(ordered[:max(1, len(ordered) // 3)])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    cmap = plt.get_cmap("viridis")
    for i, lang in enumerate(ordered):
        bpc = [p.get(lang, {}).get("bits_per_char", {}).get("value") for p in points]
        if any(v is None for v in bpc):
            continue
        base = s["points"][ref]["test"][lang]["bits_per_char"]["value"]
        style = dict(color=cmap(i / max(1, len(ordered) - 1)), marker="o",
                     linestyle="-" if lang in head else "--", label=lang)
        left.plot(alphas, bpc, **style)
        right.plot(alphas, [100 * (v / base - 1) for v in bpc], **style)
    best = float(s["summary"]["best_alpha"])
    for ax in (left, right):
        ax.axvline(best, color="grey", alpha=0.4)
        ax.set_xlabel("alpha (p(l) ∝ n_l^alpha; 1 = as found)")
        ax.grid(alpha=0.3)
    left.set_ylabel("test bits per character")
    right.set_ylabel(f"change against alpha={float(ref):g} (%)")
    right.axhline(0, color="black", linewidth=0.8)
    right.legend(fontsize=7, ncol=2, title="solid: head, dashed: tail", title_fontsize=7)
    fig.suptitle(f"Temperature sampling: best alpha on dev = {best:g}", fontsize=10)
    fig.tight_layout()
    return _png(fig)
