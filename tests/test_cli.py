"""Every bad input: one sentence, exit code 2, no traceback, and the run recorded as failed."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from greennlp import store
from greennlp.cli import app
from tests.conftest import TINY_OVERRIDES

runner = CliRunner()


def _run(tmp_path, *args):
    result = runner.invoke(app, ["run", *args, f"output_dir={tmp_path / 'runs'}"])
    return result, store.list_runs(tmp_path / "runs")


def _write(tmp_path, name, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _cases(tmp_path, frame):
    one_class = frame.assign(label="pos")
    small_class = pd.concat([frame, pd.DataFrame({"text": ["odd one", "odd two"], "label": ["rare"] * 2,
                                                  "movie": ["z", "z"], "date": ["2020-01-01"] * 2})])
    one_class.to_csv(tmp_path / "one.csv", index=False)
    small_class.to_csv(tmp_path / "small.csv", index=False)
    frame.to_csv(tmp_path / "ok.csv", index=False)
    return {
        "missing file": ([f"data.source={tmp_path / 'nope.csv'}"], "does not exist"),
        "not utf-8": ([f"data.source={_write(tmp_path, 'latin.csv', b'text,label' + bytes([10, 233, 116, 233, 44, 120, 10]))}"], "not UTF-8"),
        "missing column": ([f"data.source={tmp_path / 'ok.csv'}", "data.text_column=review"], "Column 'review'"),
        "empty dataset": ([f"data.source={_write(tmp_path, 'empty.csv', b'text,label' + bytes([10]))}"], "has no rows"),
        "single class": ([f"data.source={tmp_path / 'one.csv'}"], "single class"),
        "class too small": ([f"data.source={tmp_path / 'small.csv'}"], "Class 'rare' has only 2"),
        "unknown key": (["trainer.epochs=3"], "Unknown config key 'trainer'"),
        "wrong type": (["transformer.train.epochs=many"], "must be int"),
        "unknown dataset": (["data.source=imdbx"], "Unknown dataset 'imdbx'"),
        "unknown model": (["models=[gpt5]"], "Unknown model name 'gpt5'"),
        "missing config file": ([str(tmp_path / "cfg.yaml")], "does not exist"),
    }


@pytest.mark.parametrize("case", ["missing file", "not utf-8", "missing column", "empty dataset",
                                  "single class", "class too small", "unknown key", "wrong type",
                                  "unknown dataset", "unknown model", "missing config file"])
def test_bad_input_exits_2_with_one_sentence(tmp_path, frame, case):
    args, message = _cases(tmp_path, frame)[case]
    result, runs = _run(tmp_path, *TINY_OVERRIDES[:1], *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1
    assert runs and runs[0]["status"] == "failed" and message.split("'")[0] in runs[0]["error"]


@pytest.mark.integration  # a whole run through the command line
def test_run_and_list(tmp_path, csv_path):
    result, runs = _run(tmp_path, f"data.source={csv_path}", *TINY_OVERRIDES)
    assert result.exit_code == 0, result.output
    assert "report:" in result.output and "tfidf_logreg" in result.output
    listed = runner.invoke(app, ["runs", "--output-dir", str(tmp_path / "runs")])
    assert runs[0]["run_id"] in listed.output and "completed" in listed.output
    again = runner.invoke(app, ["report", runs[0]["run_id"][:15], "--output-dir", str(tmp_path / "runs")])
    assert again.exit_code == 0 and "report.html" in again.output


def test_resume_of_unknown_run(tmp_path):
    result = runner.invoke(app, ["run", "--resume", "nope", "--output-dir", str(tmp_path)])
    assert result.exit_code == 2 and "No run 'nope'" in result.output


def test_config_command_prints_resolved_yaml():
    result = runner.invoke(app, ["config", "quick", "seed=5"])
    assert result.exit_code == 0 and "seed: 5" in result.output and "max_examples: 1500" in result.output


def test_help_is_helpful():
    result = runner.invoke(app, ["run", "--help"])
    assert result.exit_code == 0 and "key=value" in result.output


@pytest.mark.integration  # three whole runs through the command line
def test_compare_two_runs_on_the_same_test_set(tmp_path, csv_path, frame):
    out = str(tmp_path / "runs")
    base = [f"data.source={csv_path}", *TINY_OVERRIDES, f"output_dir={out}"]
    assert runner.invoke(app, ["run", *base, "models=[tfidf_logreg]"]).exit_code == 0
    assert runner.invoke(app, ["run", *base, "models=[transformer]"]).exit_code == 0
    ids = [r["run_id"] for r in store.list_runs(out)]
    result = runner.invoke(app, ["compare", f"{ids[1]}:tfidf_logreg", ids[0], "--output-dir", out,
                                 "--samples", "200"])
    assert result.exit_code == 0, result.output
    assert "McNemar" in result.output and "paired bootstrap" in result.output
    other = tmp_path / "other.csv"
    frame.sample(frac=1.0, random_state=1).assign(text=lambda d: d["text"] + " x").to_csv(other, index=False)
    assert runner.invoke(app, ["run", f"data.source={other}", *TINY_OVERRIDES, f"output_dir={out}",
                               "models=[tfidf_logreg]"]).exit_code == 0
    newest = store.list_runs(out)[0]["run_id"]
    result = runner.invoke(app, ["compare", newest, ids[0], "--output-dir", out])
    assert result.exit_code == 2 and "different test sets" in result.output
    result = runner.invoke(app, ["compare", f"{ids[0]}:nope", ids[1], "--output-dir", out])
    assert result.exit_code == 2 and "has no model 'nope'" in result.output


@pytest.mark.parametrize("overrides, message", [
    (["transformer.hidden_size=30"], "must be divisible by transformer.num_heads"),
    (["search.families.transformer.space.hidden_size.values=[64,30]"],
     "search.families.transformer.space.hidden_size allows 30"),
    (["compress.early_exit.model=transformer"], "compress.early_exit needs exit layers"),
    (["compress.prune.model=tfidf_logreg"], "'compress.prune.model' is 'tfidf_logreg'"),
    (["compress.pie.model=transformer_mlm"], "'compress.pie.model' is 'transformer_mlm'"),
    (["seeds.models=[transformer_mlm]"], "cannot be searched or reseeded"),
    (["task=translation"], "Config key 'task' is 'translation'"),
    (["task=lm", "lm.models=[gpt5]"], "Unknown language model 'gpt5'"),
])
def test_config_rejects_exactly_what_run_rejects_before_any_data(tmp_path, overrides, message):
    """`greennlp config` and `greennlp run` share one loader: the same sentence, exit 2, and
    the run fails before its data stage (the search may pick a 1-layer transformer, so early
    exit on it is refused up front)."""
    shown = runner.invoke(app, ["config", *overrides])
    assert shown.exit_code == 2 and message in shown.output, shown.output
    result, runs = _run(tmp_path, *overrides)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert runs[0]["status"] == "failed" and not (tmp_path / "runs" / runs[0]["run_id"] / "data").exists()
