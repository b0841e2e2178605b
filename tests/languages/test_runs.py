"""Both tasks on a tiny multilingual corpus made here: the LM run with temperature sampling
and the sweep over alpha, and language identification; their reports per language."""

from __future__ import annotations

from pathlib import Path

import pytest

from greennlp import tasks
from greennlp.tasks import load_config
from tests.conftest import TINY_OVERRIDES
from tests.languages.corpus import write_csv
from tests.lm.conftest import TINY_LM


def _run(overrides):
    cfg = load_config(None, overrides)
    return tasks.execute(tasks.start(cfg, log=lambda m: None))


def test_lm_run_samples_by_language_sweeps_alpha_and_reports_per_language(tmp_path):
    path = write_csv(tmp_path / "ml.csv")
    record = _run([*TINY_LM, f"data.source={path}", "data.documents=paragraphs",
                   "data.language_column=lang", "data.language_alpha=0.5",
                   f"output_dir={tmp_path / 'runs'}", "lm.models=[ngram,gpt]",
                   "lm.gpt.train.epochs=1", "lm.scaling.enabled=false",
                   "lm.language_sweep.alphas=[0.3,1.0]", "lm.language_sweep.steps=5",
                   "lm.language_sweep.documents_per_language=12"])
    assert record.status == "completed"
    tok = record.stage("tokenizer").metrics["languages"]
    share = tok["token_share"]["ga"]
    assert share["after"] > share["before"]  # the tail upsampled
    assert (Path(record.run_dir) / "data" / "train_block_weights.npy").exists()
    assert tok["fertility_dev"]["zh"]["tokens_per_char"]["value"] > \
        tok["fertility_dev"]["en"]["tokens_per_char"]["value"]
    for m in record.models:
        test = m.analysis["languages"]["test"]
        assert set(test) == {"en", "de", "ru", "zh", "ga"}
        assert all(v["bits_per_char"]["low"] <= v["bits_per_char"]["value"]
                   <= v["bits_per_char"]["high"] for v in test.values())
    summary = record.stage("sweep:alpha").metrics
    assert summary["best_alpha"] in (0.3, 1.0) and summary["smallest"] == ["ga", "zh"]
    assert sum(k.startswith("audit:sweep:alpha=") for k in record.tested) == 2
    for alpha in ("0.3", "1"):  # at most 12 documents of each language, the same for both
        point = record.stage(f"sweep:alpha={alpha}").metrics
        assert all(v["texts"] <= 12 for v in [*point["dev"].values(), *point["test"].values()])
    assert {k: v["texts"] for k, v in point["test"].items()} == {
        k: v["texts"] for k, v in record.stage("sweep:alpha=0.3").metrics["test"].items()}
    html = (Path(record.run_dir) / "report.html").read_text()
    assert "Languages" in html and "Sweep over alpha" in html and "data:image/png" in html
    assert "Price per 1M characters" in html
    card = (Path(record.run_dir) / "MODEL_CARD.md").read_text()
    assert "## Languages" in card and "- ga" in card
    sheet = (Path(record.run_dir) / "DATASHEET.md").read_text()
    assert "| ga | file" in sheet


def test_language_identification_reports_accuracy_and_price_per_language(tmp_path):
    path = write_csv(tmp_path / "ml.csv")
    record = _run([*TINY_OVERRIDES, f"data.source={path}", "data.label_column=lang",
                   "data.language_column=lang",
                   "data.language_alpha=0.5", "models=[tfidf_logreg]",
                   "tfidf.analyzer=char_wb", "tfidf.ngram_max=3", "tfidf.min_df=1",
                   "evaluate.robustness_examples=0", f"output_dir={tmp_path / 'runs'}"])
    assert record.status == "completed"
    m = record.model("tfidf_logreg")
    assert m.test["macro_f1"]["value"] > 0.9
    per = m.analysis["languages"]["test"]
    assert set(per) == {"en", "de", "ru", "zh", "ga"}
    assert "accuracy" in per["ga"] and "macro_recall" in per["ga"]
    assert {r["slice"] for r in m.analysis["slices"]["rows"] if r["family"] == "language"} \
        == set(per)
    price = m.analysis["languages"]["price"]
    assert price["unit"] == "character" and price["training"]["en"]["kwh"] is not None
    shares = record.stage("languages").metrics["training_share"]
    assert shares["ga"]["after"] > shares["ga"]["before"]
    assert "Quality per language" in (Path(record.run_dir) / "report.html").read_text()


@pytest.mark.integration  # trains a transformer, its int8 variant and the PIE populations
def test_compression_per_language_and_the_pies_language_mix_end_to_end(tmp_path):
    path = write_csv(tmp_path / "ml.csv")
    record = _run([*TINY_OVERRIDES, f"data.source={path}", "data.label_column=lang",
                   "data.language_column=lang", "models=[transformer]",
                   "transformer.train.epochs=3", "transformer.train.lr=0.003",
                   "compress.methods=[quantize,pie]", "compress.quantize.backends=[torch]",
                   "compress.reference=transformer", "compress.pie.seeds=1",
                   "evaluate.robustness_examples=0", f"output_dir={tmp_path / 'runs'}"])
    assert record.status == "completed"
    langs = {"en", "de", "ru", "zh", "ga"}
    metrics = record.stage("languages").metrics
    variants = [m.name for m in record.models if m.variant_of == "transformer"]
    assert variants and set(metrics["compression"]) == set(variants)
    for change in metrics["compression"].values():
        assert set(change["languages"]) == langs
        average = change["average"]
        assert average["low"] <= average["value"] <= average["high"]
        assert set(change["beyond_average"]) <= langs
    pie = metrics["pie"]
    assert pie is not None and set(pie["languages"]) == langs
    assert sum(v["pies"] for v in pie["languages"].values()) == pie["pies"]
    assert sum(v["share_of_test"] for v in pie["languages"].values()) == pytest.approx(1.0)
    html = (Path(record.run_dir) / "report.html").read_text()
    assert "What compression cost each language" in html
