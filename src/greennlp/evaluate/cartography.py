"""Dataset cartography (Swayamdipta et al. 2020): each training example's confidence
(mean probability of its label over epochs), variability (its standard deviation) and
correctness (share of epochs it was predicted right), and the three regions of the map.
"""

from __future__ import annotations

from typing import Any

import numpy as np

REGIONS = ("easy-to-learn", "ambiguous", "hard-to-learn")


def cartography(prob: np.ndarray, correct: np.ndarray) -> dict[str, np.ndarray]:
    """Per example: ``confidence``, ``variability``, ``correctness`` and ``region``.

    ``prob`` and ``correct`` are epochs x examples. The regions follow the paper's
    reading of the map: the third of examples with the highest variability are
    *ambiguous*; of the rest, confidence >= 0.5 is *easy-to-learn*, else *hard-to-learn*.

    >>> m = cartography(np.array([[0.9, 0.1, 0.2], [0.95, 0.1, 0.9]]), np.ones((2, 3)))
    >>> m["region"].tolist()
    ['easy-to-learn', 'hard-to-learn', 'ambiguous']
    """
    conf = np.nanmean(prob, axis=0)
    var = np.nanstd(prob, axis=0)
    corr = np.nanmean(correct, axis=0)
    cut = np.quantile(var, 2 / 3) if len(var) else 0.0
    region = np.where(var > cut, REGIONS[1], np.where(conf >= 0.5, REGIONS[0], REGIONS[2]))
    return {"confidence": conf, "variability": var, "correctness": corr, "region": region}


def summary(carto: dict[str, np.ndarray], texts: list[str], labels: list[str],
            top: int = 5) -> dict[str, Any]:
    """Shares of each region and its most typical examples (for the record)."""
    conf, var = carto["confidence"], carto["variability"]
    key = {REGIONS[0]: -conf + var, REGIONS[1]: -var, REGIONS[2]: conf + var}
    out: dict[str, Any] = {"examples": len(conf), "regions": {}}
    for name in REGIONS:
        idx = np.flatnonzero(carto["region"] == name)
        best = idx[np.argsort(key[name][idx], kind="stable")[:top]]
        out["regions"][name] = {
            "share": len(idx) / max(1, len(conf)),
            "top": [{"index": int(i), "text": texts[i][:300], "label": str(labels[i]),
                     "confidence": round(float(conf[i]), 3),
                     "variability": round(float(var[i]), 3)} for i in best]}
    return out
