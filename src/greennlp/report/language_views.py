"""Per-language views of a run whose data has a language column, read from the record:
the data per language (source, licence, counts), each language's share of the training
data before and after temperature sampling, tokenizer fertility, quality per language
and model, the price of 1M characters per model and language, the sweep over alpha, and
what compression cost each language (with the language mix of the PIEs).

The views serve report.html (:func:`html`), the model card and the datasheet
(:func:`card_markdown`, :func:`datasheet_markdown`), whatever the task: a language
model's quality is bits per character, a classifier's accuracy and macro recall.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from greennlp.evaluate.languages import model_prices
from greennlp.record import ModelResult, RunRecord
from greennlp.report.views import ci, fmt

SWEEP = "sweep:alpha"


def present(record: RunRecord) -> bool:
    """The data had a language column."""
    return bool(record.data.get("languages"))


def card_languages(record: RunRecord) -> list[str]:
    """The languages of the data (the card's front matter), English when none is known."""
    return list(record.data.get("languages") or {}) or ["en"]


def data_rows(record: RunRecord) -> list[dict[str, Any]]:
    """Per language: source, licence and texts / characters per split."""
    sources = record.data.get("language_sources") or {}
    rows = []
    for lang, splits in (record.data.get("languages") or {}).items():
        src = sources.get(lang, {})
        rows.append({"language": lang, "source": src.get("source", record.data.get("origin")),
                     "license": src.get("license", record.data.get("license")),
                     **{f"{s}_texts": splits.get(s, {}).get("texts", 0) for s in
                        ("train", "dev", "test")},
                     "characters": sum(v.get("characters", 0) for v in splits.values())})
    return rows


def _tokenizer_languages(record: RunRecord) -> dict[str, Any]:
    st = record.stage("tokenizer")
    return (st.metrics.get("languages") or {}) if st else {}


def _stage_languages(record: RunRecord) -> dict[str, Any]:
    st = record.stage("languages")
    return st.metrics if st else {}


def sampling(record: RunRecord) -> dict[str, Any]:
    """The alpha, the unit of the shares, and per language the share before and after."""
    lm = _tokenizer_languages(record)
    if lm:
        return {"alpha": lm["alpha"], "unit": "training tokens", "shares": lm["token_share"],
                "fertility": lm.get("fertility_dev") or {}}
    cls = _stage_languages(record)
    return {"alpha": cls.get("alpha"), "unit": "training characters",
            "shares": cls.get("training_share") or {}, "fertility": {}}


def quality_rows(record: RunRecord) -> list[dict[str, Any]]:
    """Per model and language: the quality metric(s) with intervals."""
    rows = []
    for m in record.models:
        langs = (m.analysis or {}).get("languages") or {}
        for lang, v in (langs.get("test") or {}).items():
            dev = (langs.get("dev") or {}).get(lang, {})
            if "bits_per_char" in v:
                rows.append({"model": m.name, "language": lang, "texts": v["texts"],
                             "metric": "bits/char", "test": v["bits_per_char"],
                             "dev": dev.get("bits_per_char"), "second": None})
            else:
                rows.append({"model": m.name, "language": lang, "texts": v["texts"],
                             "metric": "accuracy", "test": v["accuracy"], "dev": None,
                             "second": v.get("macro_recall")})
    return rows


def _prices(record: RunRecord, m: ModelResult) -> dict[str, Any] | None:
    langs = (m.analysis or {}).get("languages") or {}
    if langs.get("price") is not None:
        return langs["price"]
    if "tokens_per_char_test" not in langs:
        return None
    ratio = {k: v["value"] for k, v in langs["tokens_per_char_test"].items()}
    return model_prices(record.stage(f"train:{m.name}"), m.training.tokens_trained or None,
                        record.stage(f"evaluate:{m.name}"), langs.get("tokens_scored"), ratio,
                        "token")


def price_rows(record: RunRecord) -> list[dict[str, Any]]:
    """Per model and language: energy (Wh), CO2e (g) and money (USD) per 1M characters,
    at training and at inference."""
    rows = []
    for m in record.models:
        p = _prices(record, m)
        if not p:
            continue
        for lang in sorted(set(p.get("training") or {}) | set(p.get("inference") or {})):
            tr, inf = (p.get("training") or {}).get(lang, {}), (p.get("inference") or {}).get(lang, {})
            rows.append({"model": m.name, "language": lang, "unit": p.get("unit"),
                         **{f"train_{k}": _scaled(tr.get(k), k) for k in ("kwh", "co2_kg", "usd")},
                         **{f"infer_{k}": _scaled(inf.get(k), k) for k in ("kwh", "co2_kg", "usd")}})
    return rows


def _scaled(value: float | None, key: str) -> float | None:
    """kWh -> Wh and kg -> g, so the table's numbers stay readable."""
    return None if value is None else value * (1e3 if key in ("kwh", "co2_kg") else 1.0)


def compression_rows(record: RunRecord) -> list[dict[str, Any]]:
    """Per compressed variant: the average accuracy change and each language's, with the
    languages whose loss lies beyond the interval of the average."""
    rows = []
    for name, v in (_stage_languages(record).get("compression") or {}).items():
        rows.append({"variant": name, "average": v["average"], "flagged": [
            {"language": k, "change": v["languages"][k]["change"]} for k in v["beyond_average"]],
            "languages": v["languages"]})
    return rows


def pie(record: RunRecord) -> dict[str, Any] | None:
    """The language mix of the PIE audit's exemplars against the test split's."""
    return _stage_languages(record).get("pie")


def sweep(record: RunRecord) -> dict[str, Any] | None:
    """The sweep over alpha: per alpha and language dev / test bits per character, and
    the summary (best alpha on dev, change per language against alpha = 1)."""
    summary = record.stage(SWEEP)
    if summary is None:
        return None
    alphas = sorted(summary.metrics["mean_dev_bpc"], key=float)
    points = {a: record.stage(f"sweep:alpha={float(a):g}").metrics for a in alphas}
    return {"summary": summary.metrics, "points": points, "alphas": alphas}


def context(record: RunRecord) -> dict[str, Any]:
    """Everything the language section shows."""
    return {"data": data_rows(record), "sampling": sampling(record),
            "quality": quality_rows(record), "prices": price_rows(record),
            "compression": compression_rows(record), "pie": pie(record),
            "sweep": sweep(record),
            "confidence": int(100 * record.config.get("evaluate", {}).get("confidence", 0.95))}


def html(record: RunRecord) -> str:
    """The report's "Languages" section (empty without a language column)."""
    import base64

    import jinja2

    from greennlp.report.language_plots import alpha_plot

    if not present(record):
        return ""
    template = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined).from_string(
        (resources.files("greennlp.report") / "templates" / "languages.html.j2").read_text())
    png = alpha_plot(sweep(record))
    return template.render(L=context(record), fmt=fmt, ci=ci,
                           alpha_png=base64.b64encode(png).decode("ascii") if png else None)


def _md_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "/") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def card_markdown(record: RunRecord, model: ModelResult | None) -> str:
    """The model card's "Languages" section: the model's quality and price per language,
    and the languages compression hurt beyond the average."""
    if not present(record) or model is None:
        return ""
    conf = context(record)
    quality = [r for r in conf["quality"] if r["model"] == model.name]
    parts = [f"Temperature sampling alpha = {conf['sampling']['alpha']} (1 = the mix as "
             f"found, 0 = uniform). Intervals: {conf['confidence']}% bootstrap over each "
             f"language's texts."]
    if quality:
        parts.append(_md_table(["language", "test texts", f"test {quality[0]['metric']}",
                                "macro recall" if quality[0]["second"] else "dev"],
                               [[r["language"], r["texts"], ci(r["test"]),
                                 ci(r["second"] or r["dev"])] for r in quality]))
    prices = [r for r in conf["prices"] if r["model"] == model.name]
    if prices:
        parts.append("Price per 1M characters of input (estimates from the run's measured "
                     "footprint; a language that needs more tokens per character costs more):")
        parts.append(_md_table(["language", "training Wh", "training g CO2e", "training $",
                                "inference Wh", "inference g CO2e", "inference $"],
                               [[r["language"], fmt(r["train_kwh"]), fmt(r["train_co2_kg"]),
                                 fmt(r["train_usd"]), fmt(r["infer_kwh"]),
                                 fmt(r["infer_co2_kg"]), fmt(r["infer_usd"])] for r in prices]))
    for row in conf["compression"]:
        if row["flagged"] and row["variant"].startswith(model.name + "+"):
            parts.append(f"- Compression ({row['variant']}): average accuracy change "
                         f"{ci(row['average'])}; losses beyond it: " + ", ".join(
                             f"{f['language']} {ci(f['change'])}" for f in row["flagged"]) + ".")
    return "\n\n".join(parts)


def datasheet_markdown(record: RunRecord) -> str:
    """The datasheet's per-language table: source, licence and counts."""
    if not present(record):
        return ""
    rows = data_rows(record)
    return _md_table(["language", "source", "licence", "train", "dev", "test", "characters"],
                     [[r["language"], r["source"], r["license"], r["train_texts"],
                       r["dev_texts"], r["test_texts"], r["characters"]] for r in rows])
