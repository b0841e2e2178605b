"""Hostile paths, kills, full and read-only disks, and data text in Markdown: nothing lost,
nothing wrong, no one out of bounds."""

from __future__ import annotations

import errno
import json
import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from greennlp import files, store
from greennlp.cli import app
from greennlp.record import RunRecord
from greennlp.run_lock import RunLock
from tests.bad_input.test_bad_input import one_sentence, snapshot
from tests.conftest import make_frame

runner = CliRunner()
SMALL = ["models=[tfidf_logreg]", "search.enabled=false", "seeds.count=1", "compress.methods=[]"]
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
ROOT = Path(__file__).resolve().parents[2]


def _hostile_csv(folder: Path) -> Path:
    """Labels with HTML, a pipe and a line break; texts with HTML; a file name with HTML."""
    frame = make_frame(80).rename(columns={"text": "<b>t</b>"})
    frame["label"] = frame["label"].map({"pos": SCRIPT, "neg": "a|b\nc"})
    frame.loc[::5, "<b>t</b>"] = frame.loc[::5, "<b>t</b>"] + " " + IMG
    path = folder / "rev<i>ews.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    """A finished tiny run on hostile data: (output folder, run id, console output)."""
    folder = tmp_path_factory.mktemp("done")
    out = folder / "runs"
    result = runner.invoke(app, ["run", *SMALL, f"data.source={_hostile_csv(folder)}",
                                 "data.text_column=<b>t</b>", f"output_dir={out}"])
    assert result.exit_code == 0, result.output
    return out, store.list_runs(out)[0]["run_id"], result.output


@pytest.fixture
def copy(done, tmp_path):
    """A copy of the finished run to change: (output folder, run id)."""
    out, run_id, _ = done
    shutil.copytree(out, tmp_path / "runs")
    record = RunRecord.load(tmp_path / "runs" / run_id)
    record.run_dir = str(tmp_path / "runs" / run_id)
    record.save()
    store.rebuild(tmp_path / "runs")
    return tmp_path / "runs", run_id


def _set_status(out: Path, run_id: str, status: str) -> None:
    record = RunRecord.load(out / run_id)
    record.status = status
    record.save()
    store.upsert(out, record)


# -- 8. Markdown outputs escape data text ---------------------------------------------------
def test_markdown_outputs_escape_data_text_and_keep_tables_whole(done):
    out, run_id, _ = done
    for name in ("MODEL_CARD.md", "DATASHEET.md", "CHECKLIST.md"):
        text = (out / run_id / name).read_text()
        for raw in ("<script", "<img", "<b>", "<i>"):
            assert raw not in text, (name, raw)
    sheet = (out / run_id / "DATASHEET.md").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in sheet and "a\\|b \u21b5 c" in sheet
    table = [line for line in sheet.splitlines() if line.startswith("| ")][:4]
    cells = [len(line.replace("\\|", "").split("|")) for line in table]
    assert len(table) == 4 and len(set(cells)) == 1, table  # header, 2 labels, total
    card = (out / run_id / "MODEL_CARD.md").read_text()
    assert "into: &lt;script&gt;" in card and "a\\|b \u21b5 c" in card


# -- 3. physical lines against rows ----------------------------------------------------------
def test_rows_spanning_lines_are_reported_in_console_and_datasheet(done):
    out, run_id, console = done
    assert "physical lines but" in console and "rows span several lines" in console
    sheet = (out / run_id / "DATASHEET.md").read_text()
    assert "- Physical lines:" in sheet and "data.strict=true" in sheet
    lines = RunRecord.load(out / run_id).data["lines"]
    assert lines["multiline_rows"] == 40 and lines["first_multiline"]["row"] == 2


def test_an_unbalanced_quote_is_reported_with_its_row(tmp_path):
    from greennlp.data.sources import line_audit

    rows = ["text,label"] + [f"film {i},{'pos' if i % 2 else 'neg'}" for i in range(20)]
    rows[5], rows[6] = '"opens here,neg', 'closes here",pos'
    path = tmp_path / "q.csv"
    path.write_text("\n".join(rows) + "\n")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    audit = line_audit(path, frame)
    assert audit["physical_lines"] == 21 and audit["rows"] == 19 and audit["differs"]
    assert audit["first_multiline"] == {"row": 5, "line": 6, "lines": 2,
                                        "text": "opens here,neg closes here pos"}


# -- 4. run ids are names, never paths --------------------------------------------------------
@pytest.mark.parametrize("command", ["report", "compress", "resume", "compare"])
def test_run_ids_that_are_paths_are_refused(copy, tmp_path, command):
    out, run_id = copy
    other = tmp_path / "other_dir"
    shutil.copytree(out / run_id, other / run_id)
    before = snapshot(tmp_path)
    for bad in (f"../other_dir/{run_id}", str(other / run_id), "", f"x/{run_id}", ".."):
        args = {"report": ["report", bad], "compress": ["compress", bad],
                "resume": ["run", "--resume", bad], "compare": ["compare", bad, run_id]}[command]
        result = runner.invoke(app, [*args, "--output-dir", str(out)])
        assert result.exit_code == 2, result.output
        assert "is not a run name" in one_sentence(result.output)
    assert snapshot(tmp_path) == before


# -- 5. one writer per run; killed runs are interrupted; resume takes over ------------------
def test_a_second_writer_is_refused_with_one_sentence(copy):
    out, run_id = copy
    _set_status(out, run_id, "failed")
    lock = RunLock(out / run_id, run_id)
    lock.acquire()
    try:
        before = (out / run_id / "record.json").read_bytes()
        result = runner.invoke(app, ["run", "--resume", run_id, "--output-dir", str(out)])
        assert result.exit_code == 2
        assert f"Run {run_id} is in use by process {os.getpid()}" in one_sentence(result.output)
        assert (out / run_id / "record.json").read_bytes() == before
        assert store.list_runs(out)[0]["status"] == "failed"
    finally:
        lock.release()
    result = runner.invoke(app, ["run", "--resume", run_id, "--output-dir", str(out)])
    assert result.exit_code == 0, result.output


HOLD_LOCK = ("import sys, time; from greennlp.run_lock import RunLock; "
             "RunLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(60)")


def test_a_killed_run_shows_as_interrupted_and_resume_takes_over(copy):
    out, run_id = copy
    _set_status(out, run_id, "running")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(out / run_id)], stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT / "src")))
    try:
        assert holder.stdout.readline().strip() == "held"
        assert store.list_runs(out)[0]["status"] == "running"
        busy = runner.invoke(app, ["run", "--resume", run_id, "--output-dir", str(out)])
        assert busy.exit_code == 2 and "is in use by process" in busy.output
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    listed = runner.invoke(app, ["runs", "--output-dir", str(out)])
    assert "interrupted" in listed.output and "running" not in listed.output
    result = runner.invoke(app, ["run", "--resume", run_id, "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    assert "took over the lock of process" in result.output
    assert store.list_runs(out)[0]["status"] == "completed"


# -- 6. atomic writes; full, read-only and unwritable disks -----------------------------------
def _failing_writes(monkeypatch, code: int, text: str) -> None:
    """Every atomic write fails half-way (a full disk) or at once (read-only)."""
    real = os.fdopen

    class HalfWriter:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            raise OSError(code, text)

    monkeypatch.setattr(files.os, "fdopen", lambda fd, mode: HalfWriter(real(fd, mode)))


@pytest.mark.parametrize("code, text, message", [
    (errno.ENOSPC, "No space left on device", "The disk is full"),
    (errno.EROFS, "Read-only file system", "read-only file system"),
    (errno.EACCES, "Permission denied", "Permission denied"),
])
def test_a_disk_that_cannot_be_written_is_one_sentence_and_leaves_no_partial_file(
        copy, monkeypatch, code, text, message):
    out, run_id = copy
    _set_status(out, run_id, "failed")
    before = snapshot(out)
    _failing_writes(monkeypatch, code, text)
    result = runner.invoke(app, ["report", run_id, "--output-dir", str(out)])
    assert result.exit_code == 2 and message in one_sentence(result.output)
    assert snapshot(out) == before  # report.html whole (the old one), no temporary files
    result = runner.invoke(app, ["run", "--resume", run_id, "--output-dir", str(out)])
    assert result.exit_code == 2 and message in one_sentence(result.output)
    listed = runner.invoke(app, ["runs", "--output-dir", str(out)])
    assert listed.exit_code == 0 and run_id in listed.output


def test_runs_lists_a_registry_it_cannot_write_or_read(copy, monkeypatch):
    out, run_id = copy

    def refuse(*a, **k):
        raise sqlite3.OperationalError("attempt to write a readonly database")
    monkeypatch.setattr(store, "_connect", refuse)
    assert [r["run_id"] for r in store.list_runs(out)] == [run_id]
    (out / store.REGISTRY_NAME).write_bytes(b"not a database" * 100)
    for extra in ("-wal", "-shm"):
        (out / (store.REGISTRY_NAME + extra)).unlink(missing_ok=True)
    result = runner.invoke(app, ["runs", "--output-dir", str(out)])
    assert result.exit_code == 0 and run_id in result.output and "completed" in result.output


def test_an_output_dir_under_a_file_is_one_sentence(tmp_path, csv_path):
    (tmp_path / "afile").write_text("x")
    result = runner.invoke(app, ["run", *SMALL, f"data.source={csv_path}",
                                 f"output_dir={tmp_path / 'afile' / 'runs'}"])
    assert result.exit_code == 2 and "is a file, not a folder" in one_sentence(result.output)


def test_atomic_folder_keeps_the_old_folder_when_writing_fails(tmp_path):
    target = tmp_path / "final"
    target.mkdir()
    (target / "weights").write_text("old")
    with pytest.raises(OSError), files.atomic_folder(target) as tmp:
        (tmp / "weights").write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert (target / "weights").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["final"]


# -- 9. the Ctrl-C hint works as printed ------------------------------------------------------
def test_the_interrupt_hint_resumes_as_printed_from_another_folder(tmp_path, csv_path, monkeypatch):
    import greennlp.tasks.classification_stages as stages

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(stages, "prepare", interrupted)
    out = tmp_path / "elsewhere" / "runs"
    result = runner.invoke(app, ["run", *SMALL, f"data.source={csv_path}", f"output_dir={out}"])
    assert result.exit_code == 130
    hint = result.output.split("resume with `")[1].split("`")[0]
    assert "--output-dir" in hint
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    resumed = runner.invoke(app, shlex.split(hint)[1:])
    assert resumed.exit_code == 0, resumed.output
    assert store.list_runs(out)[0]["status"] == "completed"
    data = RunRecord.load(out / store.list_runs(out)[0]["run_id"]).stage("data")
    assert data.energy_detail["earlier_attempts"]["attempts"] == 1  # the interrupted one


# -- 7. the cost of a killed stage is kept ------------------------------------------------------
KILLED_STAGE = """
import sys, time
from greennlp.measure import tracker
tracker.PROGRESS_EVERY_S = 0.1
with tracker.track("train:x", None, None, progress_file=sys.argv[1]):
    end = time.perf_counter() + 60
    while time.perf_counter() < end:
        pass
"""


def test_a_killed_stage_keeps_its_cost_when_run_again(tmp_path):
    from greennlp.measure import tracker

    progress = tmp_path / "progress.json"
    worker = subprocess.Popen([sys.executable, "-c", KILLED_STAGE, str(progress)],
                              env=dict(os.environ, PYTHONPATH=str(ROOT / "src")))
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            saved = json.loads(progress.read_text()) if progress.exists() else {}
            if saved.get("duration_s", 0) >= 1.0:
                break
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    saved = json.loads(progress.read_text())
    assert saved["duration_s"] >= 1.0 and saved["cpu_time_s"] > 0.3
    with tracker.track("train:x", None, None, progress_file=progress) as again:
        time.sleep(0.05)
    assert again.duration_s >= saved["duration_s"] + 0.05
    assert again.energy_detail["earlier_attempts"]["attempts"] == 1
    assert not progress.exists()


def test_a_failed_attempt_is_carried_into_the_next(tmp_path):
    from greennlp.measure import tracker

    progress = tmp_path / "p.json"
    with pytest.raises(KeyboardInterrupt), tracker.track("s", None, None, progress_file=progress):
        time.sleep(0.1)
        raise KeyboardInterrupt
    assert json.loads(progress.read_text())["attempts"] == 1
    with tracker.track("s", None, None, progress_file=progress) as st:
        pass
    assert st.duration_s >= 0.1 and st.energy_detail["earlier_attempts"]["attempts"] == 1


# -- 2. a non-finite training loss fails its stage, naming the setting ---------------------------
def test_a_diverging_loss_fails_the_stage_and_names_the_setting(tmp_path, csv_path, monkeypatch):
    import torch

    real = torch.nn.functional.cross_entropy
    monkeypatch.setattr(torch.nn.functional, "cross_entropy",
                        lambda *a, **k: real(*a, **k) * float("nan"))
    out = tmp_path / "runs"
    result = runner.invoke(app, ["run", *SMALL, "models=[transformer]", "audit.dynamics=false",
                                 "transformer.num_layers=1",
                                 "transformer.hidden_size=16", "transformer.num_heads=2",
                                 "transformer.intermediate_size=32", "transformer.vocab_size=200",
                                 f"data.source={csv_path}", f"output_dir={out}"])
    assert result.exit_code == 2
    line = one_sentence(result.output)
    assert "training loss is nan" in line and "transformer.train.lr" in line
    run = store.list_runs(out)[0]
    assert run["status"] == "failed" and run["best_test_accuracy"] is None
    record = RunRecord.load(out / run["run_id"])
    assert record.any_stage("train:transformer").status == "failed" and not record.models


@pytest.mark.integration
def test_a_trial_killed_mid_way_keeps_its_cost_after_resume(tmp_path, csv_path):
    """kill -9 during a search trial, then --resume: the trial's recorded cost includes the
    work before the kill (it used to record only what came after)."""
    out = tmp_path / "runs"
    # no early stopping and a fixed 2,000 steps (about 25 s here): the kill lands mid-trial
    # whatever dev accuracy does, and the resumed trial is short
    args = ["run", f"data.source={csv_path}", "models=[transformer]", "transformer.vocab_size=200",
            "transformer.intermediate_size=32", "transformer.num_heads=2",
            "transformer.train.patience=5000", "transformer.train.max_steps=2000",
            "search.method=random",
            "search.families.transformer.trials=1", "search.families.transformer.max_epochs=5000",
            "seeds.count=1", "compress.methods=[]", "evaluate.bootstrap_samples=100",
            "evaluate.latency_examples=4", "evaluate.throughput_batches=1", "evaluate.repeats=1",
            f"output_dir={out}"]
    worker = subprocess.Popen([sys.executable, "-m", "greennlp", *args],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=dict(os.environ, PYTHONPATH=str(ROOT / "src")))
    saved: dict = {}
    try:
        deadline = time.time() + 240  # the first running totals are saved after 10 s
        while time.time() < deadline and saved.get("duration_s", 0) < 10:
            found = list(out.glob("*/search/transformer/trial000/progress.json"))
            saved = json.loads(found[0].read_text()) if found else {}
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    assert saved.get("duration_s", 0) >= 10, "the trial never ran long enough"
    run_id = store.list_runs(out)[0]["run_id"]
    assert store.list_runs(out)[0]["status"] == "interrupted"
    result = runner.invoke(app, ["run", "--resume", run_id, "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    trial = RunRecord.load(out / run_id).any_stage("search:transformer:trial000")
    assert trial.duration_s >= saved["duration_s"]
    assert trial.energy_detail["earlier_attempts"]["duration_s"] >= 10
