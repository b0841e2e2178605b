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


def _forty_small_classes(folder: Path) -> str:
    import pandas as pd

    rows = [{"text": f"film number {c} take {j} with words enough", "label": f"c{c}"}
            for c in range(40) for j in range(6)]
    return _csv(folder, "forty.csv", pd.DataFrame(rows))


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
    "more classes than a stratified dev split holds": Case(
        lambda f: [_forty_small_classes(f), "data.max_examples=1000"],
        "fewer than the 40 classes"),
}


def _run(tmp_path: Path, monkeypatch, args: list[str]):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", *SMALL, *args, f"output_dir={tmp_path / 'runs'}"])
    return result


@pytest.mark.parametrize("name", list(CASES))
def test_bounded_input_is_one_short_sentence_and_a_failed_run(tmp_path, monkeypatch, name):
    case = CASES[name]
    args = case.make(tmp_path)
    result = _run(tmp_path, monkeypatch, args)
    assert result.exit_code == 2, result.output[:2000]
    line = one_sentence(result.output)
    assert case.message in line, line[:2000]
    assert len(line) < 1100, len(line)
    runs = store.list_runs(tmp_path / "runs")
    assert len(runs) == 1 and runs[0]["status"] == "failed", runs
    assert len(runs[0]["error"]) <= 1000
    record = (tmp_path / "runs" / runs[0]["run_id"] / "record.json").read_text()
    assert len(record) < 20_000, len(record)  # nothing echoed whole into the record


@pytest.mark.parametrize("name", ["alias bomb in one override",
                                  "alias bomb in a config file under search values"])
def test_an_alias_bomb_is_refused_within_seconds(tmp_path, monkeypatch, name):
    args = CASES[name].make(tmp_path)
    started = time.process_time()
    result = _run(tmp_path, monkeypatch, args)
    assert result.exit_code == 2
    assert time.process_time() - started < 5  # CPU seconds; expanding it took minutes


def test_greennlp_config_refuses_an_alias_bomb_file_within_seconds(tmp_path):
    """``greennlp config`` (which only prints the settings) reads the file through the
    same bounded loader: still running after 4 minutes before."""
    started = time.process_time()
    result = runner.invoke(app, ["config", _bomb_file(tmp_path)])
    assert result.exit_code == 2
    assert "expands through its YAML aliases" in one_sentence(result.output)
    assert time.process_time() - started < 5


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


# -- item: reports of many classes ----------------------------------------------------------
LIMIT_GB = 2
LIMITED = """
import resource, subprocess, sys
limit = int(float(sys.argv[1]) * 2**30)
run = subprocess.run(sys.argv[2:], capture_output=True, text=True,
                     preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)))
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
print(run.returncode, peak)
print(run.stdout[-2000:], run.stderr[-4000:], file=sys.stderr)
"""


def _under_limit(args: list[str], gb: float = LIMIT_GB) -> tuple[int, int, str]:
    """Exit code, peak resident MB and output of ``python args`` under an address-space
    limit of ``gb`` GiB (in a subprocess: the limit is not lifted again)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", LIMITED, str(gb), sys.executable, *args],
                         capture_output=True, text=True, env=env, timeout=600)
    code, peak = out.stdout.split()
    return int(code), int(peak), out.stderr


def _many_classes(tfidf_run, folder: Path, k: int = 1000, n: int = 5000) -> tuple[str, Path]:
    """The tiny run's record with its model's results remade for ``k`` classes: scores,
    confusion counts and slices from greennlp's own evaluation code on made-up
    predictions (80% right), as a 1,000-class TF-IDF run records them."""
    import json
    import shutil

    import numpy as np

    from greennlp.evaluate.baselines import baseline_scores
    from greennlp.evaluate.bootstrap import bootstrap_scores
    from greennlp.evaluate.metrics import confusion_counts
    from greennlp.evaluate.slices import slice_report

    run_id, runs = tfidf_run
    shutil.copytree(runs / run_id, folder / "runs" / run_id)
    rng = np.random.default_rng(0)
    labels = [f"class_{i:04d}" for i in range(k)]
    true = np.repeat(np.arange(k), n // k)
    pred = np.where(rng.random(len(true)) < 0.8, true, rng.integers(0, k, len(true)))
    path = folder / "runs" / run_id / "record.json"
    record = json.loads(path.read_text())
    model = record["models"][0]
    model.update(labels=labels, confusion_matrix=confusion_counts(true, pred, k).tolist(),
                 test=bootstrap_scores(true, pred, k, n_samples=100, labels=labels))
    lengths = [f"Q{1 + i % 4}" for i in range(len(true))]
    model["analysis"]["slices"] = slice_report(true, pred, labels, {"length quartile": lengths})
    record["baselines"] = baseline_scores([labels[t] for t in true], true, labels, n_samples=100)
    record["selection"]["train_labels"] = {"classes": k}
    path.write_text(json.dumps(record))
    return run_id, folder / "runs"


def test_a_report_of_a_thousand_classes_fits_in_two_gigabytes(tfidf_run, tmp_path):
    run_id, runs = _many_classes(tfidf_run, tmp_path)
    code, peak_mb, output = _under_limit(["-m", "greennlp", "report", run_id,
                                          "--output-dir", str(runs)])
    assert code == 0, output
    html = (runs / run_id / "report.html").read_text()
    assert "Most confused classes (test)" in html and "confusion matrix tfidf_logreg" not in html
    assert len(html) < 2_000_000
    card = (runs / run_id / "MODEL_CARD.md").read_text()
    assert "the 30 classes with the lowest test F1 of 1000" in card
    assert peak_mb < 1024, peak_mb


def test_bootstrap_of_a_thousand_classes_fits_in_two_gigabytes():
    code = ("import numpy as np\nfrom greennlp.evaluate.bootstrap import bootstrap_scores\n"
            "t = np.repeat(np.arange(1000), 5)\n"
            "p = np.where(np.arange(5000) % 5 == 0, (t + 1) % 1000, t)\n"
            "s = bootstrap_scores(t, p, 1000, n_samples=1000)\n"
            "assert abs(s['accuracy']['value'] - 0.8) < 1e-9, s['accuracy']\n")
    status, peak_mb, output = _under_limit(["-c", code])
    assert status == 0, output
    assert peak_mb < 1024, peak_mb


def test_the_most_confused_pairs_come_largest_first():
    from greennlp.report.class_views import confused_pairs

    pairs = confused_pairs([[5, 1, 3], [0, 4, 0], [2, 0, 6]], ["a", "b", "c"], limit=2)
    assert [(p["true"], p["predicted"], p["count"]) for p in pairs] == [("a", "c", 3),
                                                                       ("c", "a", 2)]
