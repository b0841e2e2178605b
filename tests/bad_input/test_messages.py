"""Messages that named the wrong cause or the wrong fix: each sentence now says what
actually happened (the reasons rows were dropped, a file where a folder is needed, an
ambiguous run id, a lock whose holder is unknown, the option the user gave)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from greennlp import store
from greennlp.cli import app
from greennlp.data.sources import line_audit
from greennlp.errors import UserError
from greennlp.run import record_failed_start
from greennlp.run_lock import LOCK_NAME, RunLock
from tests.bad_input.cases import Case
from tests.bad_input.test_bad_input import SMALL, one_sentence, snapshot
from tests.conftest import make_frame

runner = CliRunner()


def _conflicting(folder: Path) -> str:
    """Every text twice, once per label: cleaning drops every row as a label conflict."""
    frame = make_frame(40)
    flipped = frame.assign(label=frame["label"].map({"pos": "neg", "neg": "pos"}))
    path = folder / "conflicts.csv"
    pd.concat([frame, flipped, frame.iloc[:5]]).to_csv(path, index=False)
    return f"data.source={path}"


def _a_file(folder: Path) -> str:
    (folder / "model.safetensors").write_bytes(b"not a folder")
    return f"pretrained.name_or_path={folder / 'model.safetensors'}"


def _ok(folder: Path) -> str:
    make_frame(60).to_csv(folder / "ok.csv", index=False)
    return f"data.source={folder / 'ok.csv'}"


MESSAGE_CASES = {
    "every row a label conflict": Case(
        lambda f: [_conflicting(f)],
        "85 rows: 85 in label conflicts (one text, several labels)"),
    "a file as pretrained.name_or_path": Case(
        lambda f: [_ok(f), "models=[pretrained]", _a_file(f)],
        "(pretrained.name_or_path) is a file, not a folder"),
}


@pytest.mark.parametrize("name", list(MESSAGE_CASES))
def test_the_sentence_names_the_real_cause(tmp_path, monkeypatch, name):
    case = MESSAGE_CASES[name]
    monkeypatch.chdir(tmp_path)
    registry = tmp_path / "runs"
    args = case.make(tmp_path)
    before = snapshot(tmp_path)
    result = runner.invoke(app, ["run", *SMALL, *args, f"output_dir={registry}"])
    assert result.exit_code == 2, result.output
    line = one_sentence(result.output)
    assert case.message in line, line
    runs = store.list_runs(registry)
    assert len(runs) == 1 and runs[0]["status"] == "failed", runs
    assert case.message in runs[0]["error"]
    assert snapshot(tmp_path, skip=registry) == before


def test_every_row_dropped_names_each_reason_and_its_fix(tmp_path):
    result = runner.invoke(app, ["run", *SMALL, _conflicting(tmp_path),
                                 f"output_dir={tmp_path / 'runs'}"])
    line = one_sentence(result.output)
    assert "is empty" not in line and "data.text_column" not in line, line
    assert "data.drop_conflicts=false" in line and "give each text one label" in line, line


# -- CSV quoting: line breaks inside quoted fields are valid ----------------------------------
def _multiline_csv(folder: Path) -> Path:
    """Valid CSV: every fifth text holds a line break inside its quoted field."""
    frame = make_frame(60)
    frame.loc[::5, "text"] = frame.loc[::5, "text"] + "\nsecond line"
    path = folder / "multi.csv"
    frame.to_csv(path, index=False)
    return path


def test_line_audit_accepts_quoted_line_breaks_and_finds_malformed_quoting(tmp_path):
    path = _multiline_csv(tmp_path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    audit = line_audit(path, frame)
    assert audit["multiline_rows"] == 12 and audit["problem"] is None
    bad = tmp_path / "bad.csv"
    bad.write_text('text,label\ngood,pos\n"opens,neg\nand "closes" here,pos\nbad,neg\n')
    frame = pd.read_csv(bad, dtype=str, keep_default_na=False)
    assert len(frame) == 3  # pandas merges lines 3-4 without a word
    assert line_audit(bad, frame)["problem"] == {
        "line": 3, "what": "a closing quote is followed by more text, not the delimiter"}
    short = tmp_path / "short.csv"
    short.write_text("text,label\ngood,pos\nbad\n")
    assert line_audit(short, pd.read_csv(short, dtype=str, keep_default_na=False))[
        "problem"] == {"line": 3, "what": "1 field where the header has 2"}
    tsv = tmp_path / "multi.tsv"
    pd.read_csv(path, dtype=str).to_csv(tsv, sep="\t", index=False)
    assert line_audit(tsv, pd.read_csv(tsv, sep="\t", dtype=str), "\t")["problem"] is None


def test_strict_mode_runs_a_valid_csv_with_line_breaks_and_the_datasheet_does_not_warn(tmp_path):
    out = tmp_path / "runs"
    result = runner.invoke(app, ["run", *SMALL, f"data.source={_multiline_csv(tmp_path)}",
                                 "data.strict=true", f"output_dir={out}"])
    assert result.exit_code == 0, result.output
    assert "valid CSV" in result.output and "unbalanced" not in result.output
    run_id = store.list_runs(out)[0]["run_id"]
    sheet = (out / run_id / "DATASHEET.md").read_text()
    assert "- Physical lines:" in sheet and "unbalanced" not in sheet and "Quoting:" not in sheet
    assert "line breaks inside quoted fields (valid CSV" in sheet


# -- the lock ---------------------------------------------------------------------------------
@pytest.mark.parametrize("content", [b"", b"{not json", b"[1, 2]", b'{"host": "x"}'])
def test_a_lock_whose_holder_is_unreadable_says_so(tmp_path, content):
    run_dir = tmp_path / "r1"
    run_dir.mkdir()
    (run_dir / LOCK_NAME).write_bytes(content)
    fd = os.open(run_dir / LOCK_NAME, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another holder, of unknown identity
    try:
        with pytest.raises(UserError) as err:
            RunLock(run_dir, "r1").acquire()
    finally:
        os.close(fd)
    message = str(err.value)
    assert "?" not in message, message
    assert message.startswith("Run r1 is in use by another process") and "does not say" in message
    assert str(run_dir / LOCK_NAME) in message


def test_a_lock_held_by_a_known_process_names_it(tmp_path):
    held = RunLock(tmp_path / "r2", "r2")
    held.acquire()
    try:
        with pytest.raises(UserError, match=rf"Run r2 is in use by process {os.getpid()} on "):
            RunLock(tmp_path / "r2", "r2").acquire()
    finally:
        held.release()


# -- run ids ----------------------------------------------------------------------------------
def test_an_ambiguous_run_id_prefix_says_so_and_lists_matches(tmp_path):
    out = tmp_path / "runs"
    ids = [record_failed_start(str(out), "greennlp run", "bad").run_id for _ in range(5)]
    prefix = os.path.commonprefix(ids)[:4]
    for command in (["report", prefix], ["compare", prefix, ids[0]], ["run", "--resume", prefix]):
        result = runner.invoke(app, [*command, "--output-dir", str(out)])
        assert result.exit_code == 2, result.output
        line = one_sentence(result.output)
        assert f"Run id '{prefix}' is ambiguous" in line and "5 runs begin with it" in line, line
        assert sum(i in line for i in ids) == 3 and "..." in line, line
    result = runner.invoke(app, ["report", "zzz", "--output-dir", str(out)])
    assert "No run 'zzz'" in one_sentence(result.output)


# -- --out ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny TF-IDF run: (output folder, run id)."""
    folder = tmp_path_factory.mktemp("finished")
    out = folder / "runs"
    result = runner.invoke(app, ["run", *SMALL, _ok(folder), f"output_dir={out}"])
    assert result.exit_code == 0, result.output
    return out, store.list_runs(out)[0]["run_id"]


def test_an_unwritable_out_is_named_as_the_user_gave_it(finished, tmp_path):
    out, run_id = finished
    (tmp_path / "texts.txt").write_text("a good film\na dull film\n")
    (tmp_path / "afile").write_text("x")
    result = runner.invoke(app, ["predict", run_id, str(tmp_path / "texts.txt"), "--out",
                                 str(tmp_path / "afile" / "labels.csv"), "--output-dir", str(out)])
    assert result.exit_code == 2, result.output
    line = one_sentence(result.output)
    assert "part of the path is a file" in line and "--out" in line, line
    assert "output_dir" not in line and "--output-dir" not in line, line
