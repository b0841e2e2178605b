"""Per language, for a classification run whose data has a language column (stage
``languages``, after compression and the analysis).

From the saved test probabilities of every model and variant: accuracy and macro recall
per language with intervals; the model's tokens per character per language (its
fertility, when it has a tokenizer); the price of 1M characters of each language at
training and at inference; for every compressed variant the accuracy change per
language against its dense source, with the languages whose loss lies beyond the
interval of the average change; and the language mix of the PIEs of the PIE audit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from greennlp.compress.pie import modal_prediction
from greennlp.data.languages import character_shares, sampled_train
from greennlp.evaluate import languages as per_language
from greennlp.record import ModelResult, RunRecord, to_json
from greennlp.run import Run


def _boot(run: Run) -> dict[str, Any]:
    return {"n_samples": run.cfg.evaluate.bootstrap_samples,
            "confidence": run.cfg.evaluate.confidence, "seed": run.cfg.seed}


def _correct(run: Run, m: ModelResult) -> np.ndarray | None:
    path = Path(m.checkpoint).parent / "test_proba.npy" if m.checkpoint else None
    if path is None or not path.exists():
        return None
    pos = {lab: i for i, lab in enumerate(m.labels)}
    true = np.array([pos.get(v, -1) for v in run.splits.test["label"]])
    return np.load(path).argmax(1) == true


def _units_per_char(run: Run, m: ModelResult) -> tuple[str, dict[str, float], float]:
    """The unit a model's compute grows with (its tokens, or characters), per character
    of each language (on dev), and over the training texts."""
    model, dev = run.models.get(m.name), run.splits.dev
    langs = dev["language"].astype(str).tolist()
    texts = dev["text"].astype(str).tolist()
    if model is None or not hasattr(model, "encode"):
        return "character", {lang: 1.0 for lang in sorted(set(langs))}, 1.0
    tokens = np.array([len(x) for x in model.encode(texts)], dtype=float)
    fert = per_language.fertility(tokens, texts, langs, n_samples=100)
    train = run.splits.train["text"].astype(str).tolist()[:2000]
    overall = sum(len(x) for x in model.encode(train)) / max(1, sum(map(len, train)))
    return "token", {k: v["tokens_per_char"]["value"] for k, v in fert.items()}, overall


def prices(run: Run, m: ModelResult) -> dict[str, Any] | None:
    """Energy, CO2e and money per 1M characters of each language, at training (the train
    stage's footprint over the training characters) and at inference (the evaluate
    stage's mean power over the measured batch-32 throughput, per character of a mean dev
    text); for a tokenized model each language scaled by its tokens per character
    against the training mix's."""
    record = run.record
    unit, ratio, overall = _units_per_char(run, m)
    scale = {k: v / overall for k, v in ratio.items()}
    out: dict[str, Any] = {"unit": unit, "tokens_per_char": ratio if unit == "token" else None}
    train = record.stage(f"train:{m.name}")
    train_chars = float(run.splits.train["text"].str.len().sum())
    out["training"] = per_language.price(per_language.stage_unit_price(train, train_chars),
                                         scale) if train else {}
    infer, rate = record.stage(f"evaluate:{m.name}"), m.efficiency.get("throughput_b32")
    if infer is None or not rate or not infer.duration_s:
        out["inference"] = {}
        return out
    mean_chars = float(run.splits.dev["text"].str.len().mean())
    covered = infer.duration_s * rate * mean_chars  # characters at the measured rate
    out["inference"] = per_language.price(per_language.stage_unit_price(infer, covered), scale)
    return out


def _pie_languages(record: RunRecord, langs: np.ndarray) -> dict[str, Any] | None:
    pie = record.compression.pie
    if pie is None or not pie.probabilities or not Path(pie.probabilities).exists():
        return None
    saved = np.load(pie.probabilities)
    mask = modal_prediction(list(saved["dense"]))[0] != modal_prediction(list(saved["compressed"]))[0]
    values, counts = np.unique(langs, return_counts=True)
    total = dict(zip(values.tolist(), counts.tolist()))
    out = {}
    for lang in values.tolist():
        n = int((mask & (langs == lang)).sum())
        out[lang] = {"pies": n, "share_of_pies": n / max(1, int(mask.sum())),
                     "share_of_test": total[lang] / len(langs),
                     "pie_rate": n / total[lang]}
    return {"pies": int(mask.sum()), "languages": out}


def languages(run: Run) -> dict[str, Any]:
    """Every per-language view of the run (the stage's metrics); per model into
    ``analysis['languages']``."""
    langs = run.splits.test["language"].astype(str).to_numpy()
    boot, out = _boot(run), {"alpha": run.cfg.data.language_alpha}
    drawn = sampled_train(run.splits, run.cfg.data.language_alpha, run.cfg.seed).train
    before, after = character_shares(run.splits.train), character_shares(drawn)
    out["training_share"] = {k: {"before": v, "after": after.get(k, 0.0)} for k, v in before.items()}
    correct = {}
    for m in run.record.models:
        hit = _correct(run, m)
        if hit is None:
            continue
        correct[m.name] = hit
        proba = np.load(Path(m.checkpoint).parent / "test_proba.npy")
        pos = {lab: i for i, lab in enumerate(m.labels)}
        true = np.array([pos.get(v, -1) for v in run.splits.test["label"]])
        m.analysis["languages"] = to_json({
            "test": per_language.classification(true, proba.argmax(1), langs, len(m.labels),
                                                **boot),
            "price": prices(run, m) if not m.variant_of else None})
    out["compression"] = {m.name: per_language.change(correct[m.variant_of], correct[m.name],
                                                      langs, **boot)
                          for m in run.record.models
                          if m.variant_of and m.name in correct and m.variant_of in correct}
    out["pie"] = _pie_languages(run.record, langs)
    return to_json(out)


def stage_languages(run: Run) -> None:
    """The stage ``languages`` (nothing when the data has no language column)."""
    if "language" not in run.splits.test:
        return

    def work(st) -> None:
        st.metrics = languages(run)
        flagged = {k: v["beyond_average"] for k, v in st.metrics["compression"].items()
                   if v["beyond_average"]}
        run.log(f"languages: {len(st.metrics['training_share'])} languages"
                + "".join(f"; {k} loses most on {', '.join(v)}" for k, v in flagged.items()))
    run.stage("languages", work)
