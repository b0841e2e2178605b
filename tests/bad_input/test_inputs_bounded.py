"""Inputs that cost far more than their size, or that gave wrong or silent results:
each is refused in one sentence (exit 2, the run recorded as failed) or handled as one
text, one label, one class, within bounded time and memory."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from greennlp import store
from greennlp.cli import app
from tests.bad_input.cases import Case, _bytes, _config, _csv, _source
from tests.bad_input.test_bad_input import SMALL, one_sentence
from tests.conftest import make_frame

runner = CliRunner()


def alias_bomb(levels: int = 9) -> str:
    """A "billion laughs" mapping in YAML flow style: 9 levels of 9 aliases each, ~350
    bytes that expand to 9**9 strings."""
    names = "abcdefghijk"[:levels]
    parts = ["a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]"]
    parts += [f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]"
              for prev, cur in zip(names, names[1:])]
    return "{" + ", ".join(parts) + "}"


def _bomb_file(folder: Path) -> str:
    return _config(folder, "bomb.yaml", "search:\n  space:\n    transformer.train.lr:\n"
                                        f"      values: {alias_bomb()}\n")


def _duplicate_header(folder: Path) -> str:
    lines = ["text,label,label"] + [f"film {i} {'good' if i % 2 else 'bad'},"
                                    f"{'pos' if i % 2 else 'neg'},x" for i in range(60)]
    return _source(_bytes(folder, "dup.csv", ("\n".join(lines) + "\n").encode()))


def _zero_width_label(folder: Path) -> str:
    frame = make_frame(60)
    frame.loc[frame.index % 4 == 0, "label"] = "pos\u200b"
    return _csv(folder, "zw.csv", frame)


CASES = {
    "alias bomb in one override": Case(lambda f: [f"search.space={alias_bomb()}"],
                                       "uses a YAML alias"),
    "alias bomb in a config file under search values": Case(
        lambda f: [_bomb_file(f)], "expands through its YAML aliases"),
    "override of 20 kB": Case(lambda f: ["name=" + "x" * 20_000], "over the limit of 10,000"),
    "config file over 1 MB": Case(
        lambda f: [_config(f, "big.yaml", "name: " + "x" * 1_100_000 + "\n")],
        "over the limit of 1,000,000"),
    "long value echoed in an error": Case(lambda f: ["seed=" + "9" * 5000 + "x"],
                                          "'seed' must be int"),
    "duplicated CSV header": Case(lambda f: [_duplicate_header(f)], "Column 'label' appears twice"),
    "labels differing by a zero-width space": Case(lambda f: [_zero_width_label(f)],
                                                   "zero-width"),
}


def _run(tmp_path: Path, monkeypatch, args: list[str]):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", *SMALL, *args, f"output_dir={tmp_path / 'runs'}"])
    return result


@pytest.mark.parametrize("name", list(CASES))
def test_bounded_input_is_one_short_sentence_and_a_failed_run(tmp_path, monkeypatch, name):
    case = CASES[name]
    args = case.make(tmp_path)
    started = time.perf_counter()
    result = _run(tmp_path, monkeypatch, args)
    took = time.perf_counter() - started
    assert result.exit_code == 2, result.output[:2000]
    line = one_sentence(result.output)
    assert case.message in line, line[:2000]
    assert len(line) < 1100, len(line)
    runs = store.list_runs(tmp_path / "runs")
    assert len(runs) == 1 and runs[0]["status"] == "failed", runs
    assert len(runs[0]["error"]) <= 1000
    assert took < 20, took  # refused before any expansion or model


def test_an_echoed_value_is_cut_to_two_hundred_characters(tmp_path, monkeypatch):
    result = _run(tmp_path, monkeypatch, ["data.split=" + "s" * 5000])
    line = one_sentence(result.output)
    assert "…" in line and len(line) < 400, line


def test_anchors_and_a_few_aliases_in_a_config_file_still_work(tmp_path):
    from greennlp.config import parse_config

    path = _config(tmp_path, "ok.yaml", "transformer:\n  train: &t {epochs: 2, lr: 0.001}\n"
                                        "minilm:\n  train: *t\n")
    cfg = parse_config(path)
    assert cfg.minilm.train.epochs == 2 and cfg.minilm.train.lr == 0.001


# -- item: what a loaded model is given ------------------------------------------------------
@pytest.fixture(scope="module")
def tfidf_run(tmp_path_factory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("tfidf_run")
    source = _csv(folder, "ok.csv", make_frame(120))
    result = runner.invoke(app, ["run", *SMALL, source, "audit.enabled=false",
                                 f"output_dir={folder / 'runs'}"])
    assert result.exit_code == 0, result.output
    return store.list_runs(folder / "runs")[0]["run_id"], folder / "runs"


def test_a_bare_string_is_one_text_not_one_per_character(tfidf_run):
    import greennlp

    run_id, runs = tfidf_run
    model = greennlp.load_model(run_id, output_dir=str(runs))
    proba = model.predict_proba("a fine film")
    assert proba.shape == (1, len(model.labels))
    assert model.predict("a fine film") == model.predict(["a fine film"])


@pytest.mark.parametrize("bad", [[None], ["good", 3], [b"bytes"]])
def test_a_text_that_is_not_a_string_is_one_sentence(tfidf_run, bad):
    import greennlp
    from greennlp.errors import UserError

    run_id, runs = tfidf_run
    model = greennlp.load_model(run_id, output_dir=str(runs))
    with pytest.raises(UserError, match=r"Text \d given to the model is .* not a string"):
        model.predict_proba(bad)


# -- item: texts and numbers that look fine but are not -------------------------------------
def test_texts_of_zero_width_characters_are_dropped_as_empty():
    import pandas as pd

    from greennlp.data.clean import clean

    frame = pd.DataFrame({"text": ["a good film", "\u200b\u200b", "\u200d \ufeff\u2060", "ok"],
                          "label": ["pos", "neg", "pos", "neg"]})
    out, report = clean(frame)
    assert out["text"].tolist() == ["a good film", "ok"]
    assert report["empty_dropped"] == 2


@pytest.mark.parametrize("args, message", [
    (["--params", "nan", "--tokens", "1e9"], "--params is nan; it must be a finite number"),
    (["--params", "1e9", "--tokens", "inf"], "--tokens is inf"),
    (["--params", "-5", "--tokens", "1e9"], "--params is -5"),
    (["--params", "1e9", "--tokens", "1e9", "--pue", "nan"], "--pue is nan"),
    (["--params", "1e9", "--tokens", "1e9", "--utilisation", "0"], "--utilisation is 0"),
    (["--params", "1e9", "--tokens", "1e9", "--watts", "-inf"], "--watts is -inf"),
])
def test_estimate_refuses_numbers_that_are_not_finite_and_positive(args, message):
    result = runner.invoke(app, ["estimate", *args])
    assert result.exit_code == 2, result.output
    assert message in one_sentence(result.output)


# -- item: the BERT parameter count that `greennlp estimate` prints -------------------------
# Published (Turc et al. 2019, "Well-Read Students Learn Better"; BERT-Base: Devlin et al.
# 2019), millions, rounded to 0.1M: BERT-Tiny, Mini, Small, Medium and Base.
PUBLISHED_M = {(2, 128): 4.4, (4, 256): 11.3, (4, 512): 29.1, (8, 512): 41.7, (12, 768): 110.1}
MINIATURES = [(layers, width) for layers in (2, 4, 6, 8, 10, 12) for width in (128, 256, 512, 768)]


def _bert_config(layers: int, width: int) -> dict:
    return {"model_type": "bert", "vocab_size": 30522, "hidden_size": width,
            "num_hidden_layers": layers, "num_attention_heads": width // 64,
            "intermediate_size": 4 * width, "max_position_embeddings": 512,
            "type_vocab_size": 2}


@pytest.mark.parametrize("layers, width", MINIATURES)
def test_estimate_counts_a_bert_config_as_the_published_tables_do(tmp_path, layers, width):
    import json

    import torch
    from transformers import BertConfig, BertForPreTraining, BertModel

    from greennlp.measure.planner import model_from_config

    path = tmp_path / "config.json"
    path.write_text(json.dumps(_bert_config(layers, width)))
    counted = model_from_config(str(path))
    with torch.device("meta"):
        config = BertConfig(**_bert_config(layers, width))
        whole = sum(p.numel() for p in BertForPreTraining(config).parameters())
        encoder = sum(p.numel() for p in BertModel(config).parameters())
    assert counted["params_total"] == whole
    assert counted["params_encoder_with_pooler"] == encoder
    assert "BertForPreTraining" in counted["description"]
    if (layers, width) in PUBLISHED_M:
        assert round(counted["params_total"] / 1e6, 1) == PUBLISHED_M[layers, width]


# -- item: pretrained folders that transformers would answer with a traceback ---------------
def _tiny_bert(folder: Path) -> Path:
    from tests.models.tiny_hf import make_tiny_encoder

    return make_tiny_encoder("bert", folder, layers=1)


def _corrupt_config(folder: Path) -> Path:
    model = _tiny_bert(folder / "corrupt")
    (model / "config.json").write_text('{"model_type": "bert", "hidden_size": ')
    return model


def _cut_weights(folder: Path) -> Path:
    model = _tiny_bert(folder / "cut")
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:weights.stat().st_size // 2])
    return model


def _tiny_gpt2(folder: Path) -> Path:
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    from tests.models.tiny_hf import _byte_bpe

    tok, specials = _byte_bpe()
    config = GPT2Config(vocab_size=tok.get_vocab_size(), n_embd=16, n_layer=1, n_head=2,
                        n_positions=64, bos_token_id=0, eos_token_id=2)
    GPT2LMHeadModel(config).save_pretrained(folder / "gpt2")
    PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=64,
                            **specials).save_pretrained(folder / "gpt2")
    return folder / "gpt2"


PRETRAINED_CASES = {
    "corrupt config.json": (_corrupt_config, "config.json of"),
    "safetensors cut short": (_cut_weights, "cannot be read"),
    "a GPT-2 folder as the encoder": (_tiny_gpt2, "'gpt2' model, a decoder without an encoder"),
}


@pytest.mark.parametrize("name", list(PRETRAINED_CASES))
def test_a_broken_or_wrong_pretrained_folder_is_one_sentence(tmp_path, monkeypatch, name):
    make, message = PRETRAINED_CASES[name]
    model = make(tmp_path)
    args = [_csv(tmp_path, "ok.csv", make_frame(60)), "models=[pretrained]",
            f"pretrained.name_or_path={model}", "audit.enabled=false"]
    result = _run(tmp_path, monkeypatch, args)
    assert result.exit_code == 2, result.output[-3000:]
    line = one_sentence(result.output)
    assert message in line and str(model) in line, line
    runs = store.list_runs(tmp_path / "runs")
    assert len(runs) == 1 and runs[0]["status"] == "failed", runs


@pytest.mark.parametrize("name", ["corrupt config.json", "safetensors cut short"])
def test_load_model_on_a_broken_folder_is_one_sentence(tmp_path, name):
    import greennlp.models
    from greennlp.errors import UserError

    model = PRETRAINED_CASES[name][0](tmp_path)
    with pytest.raises(UserError, match=PRETRAINED_CASES[name][1]):
        greennlp.models.load_model(model)
