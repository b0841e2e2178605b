"""The dataset-cartography map (confidence against variability), coloured by MAP-D category."""

from __future__ import annotations

from greennlp.record import RunRecord
from greennlp.report.plots import COLORS, _png, plt


def cartography_map(record: RunRecord) -> bytes | None:
    """Scatter of every training example: variability (x) and confidence (y)."""
    dyn = (record.data.get("audit") or {}).get("dynamics")
    if not dyn or not dyn.get("points"):
        return None
    p = dyn["points"]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    cats = sorted(set(p["category"]))
    for i, cat in enumerate(cats):
        idx = [j for j, c in enumerate(p["category"]) if c == cat]
        ax.scatter([p["variability"][j] for j in idx], [p["confidence"][j] for j in idx], s=4,
                   alpha=0.5, color=COLORS[i % len(COLORS)], label=f"MAP-D: {cat} ({len(idx)})")
    ax.set_xlabel("variability (std of the label's probability over epochs)")
    ax.set_ylabel("confidence (mean probability of the label)")
    ax.set_title(f"dataset cartography ({dyn['model']}, {dyn['epochs']} epochs)")
    ax.legend(fontsize=7, markerscale=3, loc="lower right")
    return _png(fig)
