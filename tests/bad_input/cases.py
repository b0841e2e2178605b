"""The bad and hostile inputs of the suite: each makes its tiny file or setting inside the
test's folder and names the words the one-sentence error must contain."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tests.conftest import make_frame


@dataclass(frozen=True)
class Case:
    """Arguments of ``greennlp run`` (made in ``folder``) and the expected sentence."""

    make: Callable[[Path], list[str]]
    message: str
    where: Callable[[Path], Path] = field(default=lambda folder: folder / "runs")


def _csv(folder: Path, name: str, frame: pd.DataFrame) -> str:
    path = folder / name
    frame.to_csv(path, index=False)
    return f"data.source={path}"


def _bytes(folder: Path, name: str, content: bytes) -> Path:
    path = folder / name
    path.write_bytes(content)
    return path


def _parquet(folder: Path, name: str, frame: pd.DataFrame) -> str:
    path = folder / name
    frame.to_parquet(path, index=False)
    return f"data.source={path}"


def _ok(folder: Path) -> str:
    return _csv(folder, "ok.csv", make_frame(60))


def _with_rare(folder: Path, count: int) -> str:
    frame = make_frame(60)
    rare = pd.DataFrame({"text": [f"odd {i}" for i in range(count)], "label": ["rare"] * count,
                         "movie": ["z"] * count, "date": ["2020-01-01"] * count})
    return _csv(folder, "rare.csv", pd.concat([frame, rare]))


def _unbalanced_quote(folder: Path) -> Path:
    lines = ["text,label"] + [f"good film {i},pos" if i % 2 else f"bad film {i},neg"
                              for i in range(40)]
    lines[10] = '"a quote that opens here,neg'  # closed on the next line, then text follows:
    lines[11] = 'and "closes" here,pos'  # pandas merges the two lines into one row, silently
    return _bytes(folder, "quote.csv", ("\n".join(lines) + "\n").encode())


def _source(path: Path) -> str:
    return f"data.source={path}"


def _jsonl_numbers(folder: Path) -> str:
    lines = [f'{{"text": {i}, "label": "{"ab"[i % 2]}"}}' for i in range(30)]
    return _source(_bytes(folder, "n.jsonl", ("\n".join(lines) + "\n").encode()))


def _config(folder: Path, name: str, text: str) -> str:
    return str(_bytes(folder, name, text.encode()))


CONFIG_CASES = {
    "unknown key": Case(lambda f: ["trainer.epochs=3"], "Unknown config key 'trainer'"),
    "unknown nested key": Case(lambda f: ["transformer.train.epoch=3"],
                               "Unknown config key 'transformer.train.epoch'"),
    "wrong type": Case(lambda f: ["transformer.train.epochs=many"], "must be int"),
    "bool for int": Case(lambda f: ["transformer.train.epochs=true"], "must be int"),
    "out of range": Case(lambda f: ["transformer.train.lr=5"], "must be between"),
    "below range": Case(lambda f: ["data.max_examples=3"], "must be at least 10"),
    "bad choice": Case(lambda f: ["data.split=sideways"], "choose one of"),
    "infinite weight decay": Case(lambda f: ["transformer.train.weight_decay=.inf"],
                                  "'transformer.train.weight_decay' is inf; it must be a finite"),
    "nan test fraction": Case(lambda f: ["data.test_fraction=.nan"],
                              "'data.test_fraction' is nan; it must be a finite"),
    "minus infinite pue": Case(lambda f: ["measure.pue=-.inf"], "must be a finite number"),
    "nan in a file": Case(lambda f: [_config(f, "nan.yaml", "tfidf:\n  C: .nan\n")],
                          "'tfidf.C' is nan"),
    "negative seed": Case(lambda f: ["seed=-1"], "'seed' is -1; it must be between 0"),
    "seed above 2**32-1": Case(lambda f: ["seed=4294967296"], "'seed' is 4294967296"),
    "fractional seed": Case(lambda f: ["seed=1.5"], "'seed' must be int"),
    "dev plus test too large": Case(lambda f: ["data.dev_fraction=0.45", "data.test_fraction=0.45"],
                                    "must leave at least 10%"),
    "heads do not divide width": Case(lambda f: ["transformer.hidden_size=30"],
                                      "must be divisible"),
    "unknown model": Case(lambda f: ["models=[gpt5]"], "Unknown model name 'gpt5'"),
    "no model": Case(lambda f: ["models=[]"], "Config key 'models' is empty"),
    "unknown task": Case(lambda f: ["task=translation"], "Config key 'task' is 'translation'"),
    "unknown region": Case(lambda f: ["measure.region=Mars"], "Unknown region 'Mars'"),
    "override without key": Case(lambda f: ["=3"], "is not of the form key=value"),
    "override into a value": Case(lambda f: ["seed=1", "seed.x=1"], "which is not a section"),
    "two positional arguments": Case(lambda f: ["quick", "slow"], "Give at most one config"),
    "missing config file": Case(lambda f: [str(f / "cfg.yaml")], "does not exist"),
    "unknown profile": Case(lambda f: ["quik"], "neither a .yaml/.toml/.json file"),
    "config not utf-8": Case(lambda f: [str(_bytes(f, "latin.yaml", b"name: caf\xe9\n"))],
                             "not UTF-8"),
    "malformed yaml": Case(lambda f: [_config(f, "bad.yaml", "seed: [1,\n")], "cannot be parsed"),
    "malformed toml": Case(lambda f: [_config(f, "bad.toml", "seed = = 1\n")], "cannot be parsed"),
    "malformed json": Case(lambda f: [_config(f, "bad.json", '{"seed": 1,}')], "cannot be parsed"),
    "yaml list at top level": Case(lambda f: [_config(f, "list.yaml", "- 1\n- 2\n"), "seed=1"],
                                   "must be a mapping"),
    "section not a mapping": Case(lambda f: [_config(f, "sec.yaml", "evaluate: 3\n")],
                                  "must be a mapping"),
    "failed start recorded in the config's output_dir": Case(
        lambda f: [_config(f, "own.yaml", f"output_dir: {f / 'mine'}\ntrainer: 1\n")],
        "Unknown config key 'trainer'", where=lambda f: f / "mine"),
}

DATA_CASES = {
    "missing file": Case(lambda f: [f"data.source={f / 'nope.csv'}"], "does not exist"),
    "unsupported file type": Case(lambda f: [_source(_bytes(f, "d.txt", b"x"))],
                                  "unsupported type"),
    "unknown dataset": Case(lambda f: ["data.source=imdbx"], "Unknown dataset 'imdbx'"),
    "not utf-8": Case(lambda f: [_source(_bytes(f, "latin.csv", b"text,label\n\xe9t\xe9,x\n"))],
                      "not UTF-8"),
    "empty file": Case(lambda f: [_source(_bytes(f, "empty.csv", b""))], "is empty"),
    "header only": Case(lambda f: [_source(_bytes(f, "head.csv", b"text,label\n"))],
                        "has no rows"),
    "missing text column": Case(lambda f: [_ok(f), "data.text_column=review"], "Column 'review'"),
    "missing group column": Case(lambda f: [_ok(f), "data.group_column=film"], "Column 'film'"),
    "unlabelled rows": Case(lambda f: [_csv(f, "nolabel.csv", make_frame(60).assign(
        label=lambda d: d["label"].where(d.index % 7 != 0, "")))], "have no label"),
    "single class": Case(lambda f: [_csv(f, "one.csv", make_frame(60).assign(label="pos"))],
                         "single class"),
    "class too small": Case(lambda f: [_with_rare(f, 2)], "Class 'rare' has only 2"),
    "one-example class with max_examples": Case(
        lambda f: [_with_rare(f, 1), "data.max_examples=30"], "Class 'rare' has only 1"),
    "subsampling empties a class": Case(
        lambda f: [_with_rare(f, 8), "data.max_examples=20"], "data.max_examples=20 would leave"),
    "all texts blank": Case(lambda f: [_csv(f, "blank.csv", make_frame(60).assign(text="  "))],
                            "Every text of"),
    "numbers as text (parquet)": Case(lambda f: [_parquet(f, "nums.parquet", make_frame(60).assign(
        text=lambda d: range(len(d))))], "holds int64 values, not text"),
    "lists as text (parquet)": Case(lambda f: [_parquet(f, "lists.parquet", make_frame(60).assign(
        text=lambda d: [["a", "b"]] * len(d)))], "holds list values, not text"),
    "numbers as text (jsonl)": Case(lambda f: [_jsonl_numbers(f)], "not text"),
    "malformed jsonl": Case(lambda f: [_source(_bytes(f, "bad.jsonl", b"{not json\n"))],
                            "cannot be read"),
    "group split without groups": Case(lambda f: [_ok(f), "data.split=group"],
                                       "needs a group column"),
    "time split without time": Case(lambda f: [_ok(f), "data.split=time"], "needs a time column"),
    "too few groups": Case(lambda f: [_csv(f, "g.csv", make_frame(60, n_groups=2)),
                                      "data.group_column=movie", "data.split=group"],
                           "distinct groups"),
    "blank LM corpus": Case(lambda f: ["task=lm", f"data.source={_bytes(f, 'c.txt', b'  ' + bytes([10]) * 50)}"],
                            "has only 0 non-empty documents"),
    "numbers as LM corpus text": Case(lambda f: ["task=lm", _parquet(f, "c.parquet", make_frame(60).assign(
        text=lambda d: range(len(d))))], "not text"),
    "moved LM corpus key": Case(lambda f: ["task=lm", "lm.corpus.source=c.txt"],
                                "'lm.corpus.source' is now 'data.source'"),
    "malformed quoting in strict mode": Case(
        lambda f: [_source(_unbalanced_quote(f)), "data.strict=true"], "is malformed at line 11"),
}
