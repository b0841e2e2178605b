"""Per-language scores, each with a bootstrap interval: tokenizer fertility, bits per
character, accuracy and recall, what compression changed, and the price of a language.

Every number is a ratio of sums over the texts of one language (tokens / characters,
NLL / characters, correct / texts), so its interval resamples that language's texts with
replacement (percentile interval). Fertility makes the same content cost more in some
languages (Petrov et al. 2023): the price of a language is the price of a token times
the tokens its characters need.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

Interval = dict[str, float]


def ratio_ci(num: np.ndarray, den: np.ndarray, *, n_samples: int = 1000,
             confidence: float = 0.95, seed: int = 0) -> Interval:
    """``sum(num) / sum(den)`` and its percentile interval over resampled units.

    >>> ratio_ci(np.array([1.0, 3.0]), np.array([2.0, 2.0]), n_samples=50)["value"]
    1.0
    """
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    value = float(num.sum() / den.sum()) if den.sum() else float("nan")
    if len(num) < 2:
        return {"value": value, "low": value, "high": value}
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(num), size=(n_samples, len(num)))
    boot = num[draws].sum(1) / np.maximum(den[draws].sum(1), 1e-12)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(boot, [alpha, 1.0 - alpha])
    return {"value": value, "low": float(low), "high": float(high)}


def _groups(languages: Sequence[str]) -> dict[str, np.ndarray]:
    values = np.asarray([str(x) for x in languages], dtype=object)
    return {lang: np.flatnonzero(values == lang) for lang in sorted(set(values.tolist()))}


def fertility(tokens: np.ndarray, texts: Sequence[str], languages: Sequence[str],
              **boot: Any) -> dict[str, dict[str, Any]]:
    """Per language: tokens per character and per (whitespace) word, with intervals.

    Words are runs between spaces: for Chinese, which writes no spaces, a "word" is a
    whole line, so tokens per character is the comparable figure.
    """
    tokens = np.asarray(tokens, dtype=float)
    chars = np.array([len(t) for t in texts], dtype=float)
    words = np.array([len(t.split()) for t in texts], dtype=float)
    out = {}
    for lang, idx in _groups(languages).items():
        out[lang] = {"texts": int(len(idx)), "characters": int(chars[idx].sum()),
                     "tokens_per_char": ratio_ci(tokens[idx], chars[idx], **boot),
                     "tokens_per_word": ratio_ci(tokens[idx], words[idx], **boot)}
    return out


def bits_per_char(nll_nats: np.ndarray, chars: np.ndarray, languages: Sequence[str],
                  **boot: Any) -> dict[str, dict[str, Any]]:
    """Per language: bits per character (``chars``: each document's scored characters)."""
    nll = np.asarray(nll_nats, dtype=float) / math.log(2)
    chars = np.asarray(chars, dtype=float)
    return {lang: {"texts": int(len(idx)), "characters": int(chars[idx].sum()),
                   "bits_per_char": ratio_ci(nll[idx], chars[idx], **boot)}
            for lang, idx in _groups(languages).items()}


def classification(true: np.ndarray, pred: np.ndarray, languages: Sequence[str],
                   n_classes: int, **boot: Any) -> dict[str, dict[str, Any]]:
    """Per language: accuracy and macro recall (over the classes present in the language),
    each with a bootstrap interval."""
    true, pred = np.asarray(true), np.asarray(pred)
    out = {}
    for lang, idx in _groups(languages).items():
        t, p = true[idx], pred[idx]
        correct = (t == p).astype(float)
        out[lang] = {"texts": int(len(idx)),
                     "accuracy": ratio_ci(correct, np.ones(len(idx)), **boot),
                     "macro_recall": _macro_recall_ci(t, p, n_classes, **boot)}
    return out


def _macro_recall(t: np.ndarray, p: np.ndarray, n_classes: int) -> float:
    present = [k for k in range(n_classes) if (t == k).any()]
    return float(np.mean([((t == k) & (p == k)).sum() / (t == k).sum() for k in present])) \
        if present else float("nan")


def _macro_recall_ci(t: np.ndarray, p: np.ndarray, n_classes: int, *, n_samples: int = 1000,
                     confidence: float = 0.95, seed: int = 0) -> Interval:
    value = _macro_recall(t, p, n_classes)
    if len(t) < 2:
        return {"value": value, "low": value, "high": value}
    rng = np.random.default_rng(seed)
    boot = [_macro_recall(t[d], p[d], n_classes)
            for d in rng.integers(0, len(t), size=(n_samples, len(t)))]
    alpha = (1.0 - confidence) / 2.0
    low, high = np.nanquantile(boot, [alpha, 1.0 - alpha])
    return {"value": value, "low": float(low), "high": float(high)}


def change(dense_correct: np.ndarray, variant_correct: np.ndarray, languages: Sequence[str],
           **boot: Any) -> dict[str, Any]:
    """What a compressed variant changed, per language: accuracy change against its dense
    source (paired: the same texts resampled for both), with intervals; the average change
    over all texts; and the languages whose loss lies beyond the average's interval
    (Ogueji et al. 2022: compression's harm falls hardest on the long tail)."""
    diff = np.asarray(variant_correct, dtype=float) - np.asarray(dense_correct, dtype=float)
    ones = np.ones(len(diff))
    average = ratio_ci(diff, ones, **boot)
    per = {lang: {"texts": int(len(idx)), "change": ratio_ci(diff[idx], ones[idx], **boot)}
           for lang, idx in _groups(languages).items()}
    worse = [lang for lang, v in per.items() if v["change"]["value"] < average["low"]]
    return {"average": average, "languages": per,
            "beyond_average": sorted(worse, key=lambda k: per[k]["change"]["value"])}


def price(per_unit: dict[str, float | None], units_per_char: dict[str, float]
          ) -> dict[str, dict[str, float | None]]:
    """Per language: energy (kWh), CO2e (kg) and money (USD) per 1M characters, from the
    price of one unit (a token, or a character) and each language's units per character.

    >>> price({"kwh": 1e-9, "co2_kg": None, "usd": 2e-9}, {"en": 0.25})["en"]["kwh"]
    0.00025
    """
    return {lang: {k: (None if v is None else v * ratio * 1e6) for k, v in per_unit.items()}
            for lang, ratio in units_per_char.items()}


def stage_unit_price(stage, units: float) -> dict[str, float | None]:
    """The price of one unit of work in a measured stage (``units`` done in it): energy,
    CO2e and money divided by the units."""
    if stage is None or not units:
        return {"kwh": None, "co2_kg": None, "usd": None}
    return {"kwh": None if stage.energy_kwh is None else stage.energy_kwh / units,
            "co2_kg": None if stage.co2_kg is None else stage.co2_kg / units,
            "usd": None if stage.cost_usd is None else stage.cost_usd / units}


def model_prices(train_stage, train_units: float | None, infer_stage, infer_units: float | None,
                 units_per_char: dict[str, float], unit: str) -> dict[str, Any]:
    """Per language, energy / CO2e / money per 1M characters at training and at inference:
    each stage's footprint divided by the units (tokens, or characters) it processed, times
    the units each character of the language needs."""
    out: dict[str, Any] = {"unit": unit}
    for key, stage, units in (("training", train_stage, train_units),
                              ("inference", infer_stage, infer_units)):
        out[key] = price(stage_unit_price(stage, units), units_per_char) \
            if stage is not None and units else {}
    return out


def relative_change(nll_new: np.ndarray, nll_ref: np.ndarray, languages: Sequence[str], *,
                    n_samples: int = 1000, confidence: float = 0.95, seed: int = 0
                    ) -> dict[str, Interval]:
    """Per language, the relative change of bits per character from a reference model to
    a new one on the same texts (``sum(new) / sum(ref) - 1``; the characters cancel),
    with a paired interval (the same resampled texts for both).

    >>> round(relative_change(np.array([9.0, 9.0]), np.array([10.0, 10.0]), ["a", "a"])["a"]["value"], 6)
    -0.1
    """
    new, ref = np.asarray(nll_new, dtype=float), np.asarray(nll_ref, dtype=float)
    out = {}
    for lang, idx in _groups(languages).items():
        ci = ratio_ci(new[idx], ref[idx], n_samples=n_samples, confidence=confidence, seed=seed)
        out[lang] = {k: v - 1.0 for k, v in ci.items()}
    return out


def alpha_tradeoff(dev_bpc: dict[float, dict[str, float]], test_nll: dict[float, np.ndarray],
                   languages: Sequence[str], sizes: dict[str, float], **boot: Any
                   ) -> dict[str, Any]:
    """The verdict of a sweep over alpha: the alpha with the lowest mean dev bits per
    character over languages (each language counts once), and per language the relative
    change of test bits per character there against alpha = 1 (or the largest alpha
    swept), with paired intervals; the two smallest languages (by training size) and the
    largest are named, since temperature sampling trades one against the other."""
    alphas = sorted(dev_bpc)
    mean_dev = {a: float(np.mean(list(dev_bpc[a].values()))) for a in alphas}
    best = min(alphas, key=lambda a: mean_dev[a])
    ref = 1.0 if 1.0 in dev_bpc else alphas[-1]
    by_size = sorted(sizes, key=lambda k: sizes[k])
    changes = relative_change(test_nll[best], test_nll[ref], languages, **boot)
    return {"best_alpha": best, "reference_alpha": ref, "mean_dev_bpc": mean_dev,
            "change_at_best": changes, "smallest": by_size[:2], "largest": by_size[-1:],
            "criterion": "lowest mean dev bits per character over languages"}
