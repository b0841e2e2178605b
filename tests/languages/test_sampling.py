"""Temperature sampling, splits that keep every language, and per-language intervals."""

from __future__ import annotations

import numpy as np
import pytest

from greennlp.config import DataConfig, parse_config
from greennlp.data import languages, prepare
from greennlp.data.split import blocks_by_language
from greennlp.errors import UserError
from greennlp.evaluate import languages as per_language
from greennlp.train.lm import epoch_batches
from tests.languages.corpus import make_texts, write_csv


def test_alpha_moves_the_mix_from_as_found_to_uniform():
    sizes = {"big": 900.0, "mid": 90.0, "tail": 10.0}
    assert languages.temperature_shares(sizes, 1.0) == pytest.approx(
        {"big": 0.9, "mid": 0.09, "tail": 0.01})
    assert languages.temperature_shares(sizes, 0.0) == pytest.approx(
        {k: 1 / 3 for k in sizes})
    half = languages.temperature_shares(sizes, 0.5)
    assert half["tail"] > 0.01 and half["big"] < 0.9


def test_resampled_texts_follow_the_temperature_in_characters():
    frame = make_texts()
    idx = languages.resample(frame["text"].tolist(), frame["language"].tolist(), 0.0, seed=1)
    drawn = frame.iloc[idx]
    shares = languages.character_shares(drawn)
    assert all(abs(v - 0.2) < 0.05 for v in shares.values())  # five languages, uniform
    assert languages.resample(frame["text"].tolist(), frame["language"].tolist(), 1.0, 1).tolist() \
        == list(range(len(frame)))


def test_weighted_epochs_draw_blocks_by_language():
    langs = np.array(["a"] * 90 + ["b"] * 10, dtype=object)
    weights = languages.block_weights(langs, {"a": 900.0, "b": 100.0}, 0.0)
    assert languages.token_shares(langs, weights) == pytest.approx({"a": 0.5, "b": 0.5})
    drawn = np.concatenate(epoch_batches(100, 10, seed=0, epoch=0, weights=weights))
    assert 0.3 < np.mean(langs[drawn] == "b") < 0.7  # 10% of the blocks, about half the draws
    plain = np.concatenate(epoch_batches(100, 10, seed=0, epoch=0))
    assert sorted(plain.tolist()) == list(range(100))


def test_block_splits_keep_every_language_in_every_split():
    frame = make_texts()
    idx = blocks_by_language(frame["language"], 500, {"test": 0.1, "dev": 0.1}, seed=0)
    for name in ("train", "dev", "test"):
        assert set(frame["language"].iloc[idx[name]]) == set(frame["language"])
    assert sorted(np.concatenate(list(idx.values())).tolist()) == list(range(len(frame)))
    first = frame["language"].iloc[idx["test"][:20]]
    assert first.nunique() > 1  # languages interleaved, not one after the other


def test_prepare_carries_the_language_column_and_counts_it(tmp_path):
    path = write_csv(tmp_path / "ml.csv")
    cfg = parse_config(None, [f"data.source={path}", "data.language_column=lang",
                              "data.block_documents=20"]).data
    splits, summary = prepare(cfg, 0, labels=False, running_text=True)
    assert set(splits.test["language"]) == {"en", "de", "ru", "zh", "ga"}
    assert summary["languages"]["ga"]["test"]["texts"] >= 1
    assert summary["split"]["blocks_within"] == "language"


def test_a_missing_language_column_is_named(tmp_path):
    path = write_csv(tmp_path / "ml.csv")
    with pytest.raises(UserError, match="data.language_column"):
        prepare(DataConfig(source=str(path), language_column="langue"), 0, labels=False)


def test_alpha_and_ngram_settings_are_checked():
    with pytest.raises(UserError, match="alpha"):
        parse_config(None, ["lm.language_sweep.alphas=[0.5,1.5]"])
    with pytest.raises(UserError, match="ngram_min"):
        parse_config(None, ["tfidf.ngram_min=4", "tfidf.ngram_max=2"])
    with pytest.raises(UserError, match="language_alpha"):
        parse_config(None, ["data.language_alpha=2"])


def test_per_language_scores_have_intervals():
    texts = ["abcd"] * 10 + ["xy"] * 10
    langs = ["a"] * 10 + ["b"] * 10
    fert = per_language.fertility(np.array([2] * 10 + [4] * 10), texts, langs, n_samples=50)
    assert fert["a"]["tokens_per_char"]["value"] == 0.5 and fert["b"]["tokens_per_char"]["value"] == 2
    true, pred = np.array([0, 1] * 10), np.array([0, 1] * 5 + [1, 1] * 5)
    scores = per_language.classification(true, pred, langs, 2, n_samples=50)
    assert scores["a"]["accuracy"]["value"] == 1.0 and scores["b"]["accuracy"]["value"] == 0.5
    assert scores["b"]["macro_recall"]["low"] <= 0.5 <= scores["b"]["macro_recall"]["high"]


def test_compression_names_the_languages_it_hurts_beyond_the_average():
    langs = ["head"] * 200 + ["tail"] * 40
    dense = np.ones(240, dtype=bool)
    variant = dense.copy()
    variant[200:220] = False  # half the tail forgotten, the head kept
    out = per_language.change(dense, variant, langs, n_samples=200)
    assert out["beyond_average"] == ["tail"]
    assert out["languages"]["head"]["change"]["value"] == 0.0


def test_prices_scale_with_tokens_per_character():
    class Stage:
        energy_kwh, co2_kg, cost_usd = 1.0, 0.5, 2.0
    p = per_language.model_prices(Stage(), 1e6, Stage(), 2e6, {"en": 0.25, "zh": 1.0}, "token")
    assert p["training"]["zh"]["kwh"] == pytest.approx(4 * p["training"]["en"]["kwh"])
    assert p["inference"]["en"]["usd"] == pytest.approx(2.0 / 2e6 * 0.25 * 1e6)


def test_the_sweep_verdict_compares_against_alpha_one():
    langs = ["big"] * 4 + ["small"] * 4
    nll = {1.0: np.array([10.0] * 8), 0.5: np.array([10.2] * 4 + [8.0] * 4)}
    out = per_language.alpha_tradeoff({1.0: {"big": 1.0, "small": 2.0},
                                       0.5: {"big": 1.02, "small": 1.6}}, nll, langs,
                                      {"big": 100.0, "small": 5.0}, n_samples=50)
    assert out["best_alpha"] == 0.5 and out["reference_alpha"] == 1.0
    assert out["change_at_best"]["small"]["value"] == pytest.approx(-0.2)
    assert out["largest"] == ["big"] and out["smallest"] == ["small", "big"]
