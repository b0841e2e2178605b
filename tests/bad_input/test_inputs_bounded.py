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
