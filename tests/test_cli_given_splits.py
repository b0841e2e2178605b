"""`greennlp run` on a CSV with its own test file: that file is the test split; a test file
unlike the training file is one sentence, exit 2, and the run recorded as failed."""

import json

from typer.testing import CliRunner

from greennlp import store
from greennlp.cli import app
from greennlp.report.markdown import md
from tests.conftest import TINY_OVERRIDES, make_frame

runner = CliRunner()


def _files(tmp_path, test_change=lambda f: f):
    frame = make_frame(240)
    frame.iloc[:180].to_csv(tmp_path / "train.csv", index=False)
    test_change(frame.iloc[180:]).to_csv(tmp_path / "test.csv", index=False)
    return ["models=[tfidf_logreg]", *TINY_OVERRIDES[1:], f"data.source={tmp_path / 'train.csv'}",
            f"data.test_source={tmp_path / 'test.csv'}", f"output_dir={tmp_path / 'runs'}"]


def test_a_csv_with_its_own_test_file_is_scored_on_that_file(tmp_path):
    result = runner.invoke(app, ["run", *_files(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "test as the dataset gives" in result.output
    run = store.list_runs(tmp_path / "runs")[0]
    record = json.loads((tmp_path / "runs" / run["run_id"] / "record.json").read_text())
    assert record["data"]["split"]["sizes"]["test"] == 60
    assert sum(map(sum, record["models"][0]["confusion_matrix"])) == 60  # scored on the file
    sheet = (tmp_path / "runs" / run["run_id"] / "DATASHEET.md").read_text()
    assert md(f"test (file {tmp_path / 'test.csv'})") in sheet and "made by greennlp" in sheet


def test_a_test_file_with_other_labels_exits_2_and_the_run_is_failed(tmp_path):
    args = _files(tmp_path, lambda f: f.assign(label=f["label"].replace("pos", "positive")))
    result = runner.invoke(app, ["run", *args])
    assert result.exit_code == 2, result.output
    assert "has the label 'positive'" in result.output and "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("error:")]) == 1
    run = store.list_runs(tmp_path / "runs")[0]
    assert run["status"] == "failed" and "positive" in run["error"]
