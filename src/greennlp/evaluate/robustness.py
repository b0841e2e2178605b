"""Seeded, deterministic text perturbations and what they do to a model's predictions.

Each perturbation of each text draws from its own generator seeded by (seed,
perturbation, example position), so the same texts get the same edits in every run
and for every model. Typos edit letters at ``rate`` (swap with the next, drop, double
or replace with a neighbouring key); word dropout removes words at ``rate`` (keeping
one); casing swaps upper and lower case; punctuation removal drops ASCII punctuation;
contractions are expanded ("don't" -> "do not"), or formed when there is nothing to
expand. The flip rate is the share of perturbed examples whose predicted label changes.

>>> perturb(["Don't stop, it's great!"], "contractions")
['Do not stop, it is great!']
>>> perturb(["Don't stop, it's great!"], "no_punctuation")
['Dont stop its great']
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

PERTURBATIONS = ("typos", "casing", "no_punctuation", "contractions", "word_dropout")
KEYBOARD = {c: n for row in ("qwertyuiop", "asdfghjkl", "zxcvbnm") for c, n in
            zip(row, row[1:] + row[-2])}
CONTRACTIONS = {"don't": "do not", "doesn't": "does not", "didn't": "did not", "isn't": "is not",
                "aren't": "are not", "wasn't": "was not", "weren't": "were not",
                "can't": "cannot", "won't": "will not", "it's": "it is", "that's": "that is",
                "i'm": "i am", "you're": "you are", "they're": "they are", "we're": "we are",
                "there's": "there is", "he's": "he is", "she's": "she is", "i've": "i have",
                "couldn't": "could not", "wouldn't": "would not", "shouldn't": "should not"}
_EXPAND = re.compile(r"\b(" + "|".join(map(re.escape, CONTRACTIONS)) + r")\b", re.IGNORECASE)
_CONTRACT = re.compile(r"\b(" + "|".join(map(re.escape, CONTRACTIONS.values())) + r")\b",
                       re.IGNORECASE)
_FORM = {v: k for k, v in CONTRACTIONS.items()}
_PUNCT = str.maketrans("", "", string.punctuation)


def _typos(text: str, rate: float, rng: np.random.Generator) -> str:
    chars, out, i = list(text), [], 0
    while i < len(chars):
        c = chars[i]
        if c.isalpha() and rng.random() < rate:
            op = rng.integers(4)
            if op == 0 and i + 1 < len(chars):  # swap with the next character
                out += [chars[i + 1], c]
                i += 2
                continue
            if op == 1:  # drop
                i += 1
                continue
            out += [c, c] if op == 2 else [KEYBOARD.get(c.lower(), c)]
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _dropout(text: str, rate: float, rng: np.random.Generator) -> str:
    words = text.split()
    kept = [w for w in words if rng.random() >= rate]
    return " ".join(kept or words[:1])


def _same_case(found: str, replacement: str) -> str:
    return replacement[0].upper() + replacement[1:] if found[:1].isupper() else replacement


def _contractions(text: str) -> str:
    expanded = _EXPAND.sub(lambda m: _same_case(m.group(0), CONTRACTIONS[m.group(0).lower()]),
                           text)
    if expanded != text:
        return expanded
    return _CONTRACT.sub(lambda m: _same_case(m.group(0), _FORM[m.group(0).lower()]), text)


EDITS: dict[str, Callable[[str, float, np.random.Generator], str]] = {
    "typos": _typos,
    "casing": lambda t, rate, rng: t.swapcase(),
    "no_punctuation": lambda t, rate, rng: " ".join(t.translate(_PUNCT).split()),
    "contractions": lambda t, rate, rng: _contractions(t),
    "word_dropout": _dropout,
}


def perturb(texts: Sequence[str], kind: str, rate: float = 0.1, seed: int = 0) -> list[str]:
    """``texts`` with perturbation ``kind`` applied (deterministic given ``seed``)."""
    edit, k = EDITS[kind], PERTURBATIONS.index(kind)
    return [edit(str(t), rate, np.random.default_rng([seed, k, i])) for i, t in enumerate(texts)]


def sample(n: int, size: int, seed: int = 0) -> np.ndarray:
    """A seeded, sorted sample of ``size`` positions out of ``n`` (all when smaller)."""
    if size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, 99]).choice(n, size=size, replace=False))


def perturbed_inputs(texts: Sequence[str], kinds: Sequence[str], rate: float, seed: int
                     ) -> tuple[list[str], dict[str, np.ndarray]]:
    """The distinct changed texts of every perturbation (to predict in one batch) and,
    per perturbation, where each example's text is in that batch (-1: unchanged)."""
    batch: list[str] = []
    where: dict[str, np.ndarray] = {}
    seen: dict[str, int] = {}
    for kind in kinds:
        pos = np.full(len(texts), -1)
        for i, (old, new) in enumerate(zip(texts, perturb(texts, kind, rate, seed))):
            if new != old:
                if new not in seen:
                    seen[new] = len(batch)
                    batch.append(new)
                pos[i] = seen[new]
        where[kind] = pos
    return batch, where


def robustness_report(texts: Sequence[str], true: np.ndarray, pred: np.ndarray,
                      perturbed_pred: np.ndarray, where: dict[str, np.ndarray],
                      labels: Sequence[str], rate: float, seed: int, examples: int = 5
                      ) -> dict[str, Any]:
    """Per perturbation: accuracy before and after, flip rate, share of texts changed, and
    a few flipped examples (original, perturbed, prediction before and after)."""
    true, pred = np.asarray(true), np.asarray(pred)
    out: dict[str, Any] = {"examples": len(texts), "rate": rate, "seed": seed,
                           "accuracy": float((pred == true).mean()) if len(true) else None,
                           "perturbations": {}}
    for kind, pos in where.items():
        new = np.where(pos >= 0, perturbed_pred[np.maximum(pos, 0)] if len(perturbed_pred)
                       else pred, pred)
        flipped = np.flatnonzero(new != pred)
        edited = perturb(texts, kind, rate, seed) if len(flipped) else []
        out["perturbations"][kind] = {
            "accuracy": float((new == true).mean()) if len(true) else None,
            "flip_rate": float(len(flipped) / len(texts)) if len(texts) else None,
            "changed": float((pos >= 0).mean()) if len(texts) else None,
            "flipped": [{"text": texts[i], "perturbed": edited[i], "true": labels[true[i]],
                         "before": labels[pred[i]], "after": labels[new[i]]}
                        for i in flipped[:examples]]}
    return out
