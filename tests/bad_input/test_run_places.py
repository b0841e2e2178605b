"""Runs recorded in the right folder and the right state: output_dir given twice, the
--output-dir option of a new run, a disk that fills up during a run or an export."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from greennlp import files, store
from greennlp.cli import app
from greennlp.record import RunRecord
from tests.bad_input.test_bad_input import SMALL, one_sentence
from tests.conftest import TINY_OVERRIDES, make_frame

runner = CliRunner()


def _data(folder: Path) -> str:
    make_frame(60).to_csv(folder / "ok.csv", index=False)
    return f"data.source={folder / 'ok.csv'}"


def _failed_here(registry: Path, message: str) -> None:
    runs = store.list_runs(registry)
    assert len(runs) == 1 and runs[0]["status"] == "failed", runs
    assert message in runs[0]["error"]


# -- output_dir given twice, or as the option of a new run -----------------------------------
def test_output_dir_given_twice_the_last_one_wins(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first, last = tmp_path / "first", tmp_path / "last"
    result = runner.invoke(app, ["run", f"output_dir={first}", f"output_dir={last}",
                                 "trainer.epochs=3"])
    assert result.exit_code == 2 and "Unknown config key 'trainer'" in one_sentence(result.output)
    _failed_here(last, "Unknown config key 'trainer'")
    assert not first.exists() and not (tmp_path / "runs").exists()
    config = tmp_path / "own.yaml"
    config.write_text(f"output_dir: {first}\n")
    result = runner.invoke(app, ["run", str(config), f"output_dir={last}", "trainer.epochs=3"])
    assert result.exit_code == 2
    assert len(store.list_runs(last)) == 2 and not first.exists()


def test_the_output_dir_option_of_a_new_run_is_honoured(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    chosen = tmp_path / "chosen"
    result = runner.invoke(app, ["run", "trainer.epochs=3", "--output-dir", str(chosen)])
    assert result.exit_code == 2
    _failed_here(chosen, "Unknown config key 'trainer'")
    config = tmp_path / "own.yaml"
    config.write_text(f"output_dir: {tmp_path / 'from_file'}\n")
    result = runner.invoke(app, ["run", str(config), *SMALL, _data(tmp_path),
                                 "--output-dir", str(chosen)])
    assert result.exit_code == 0, result.output
    runs = {r["status"]: r for r in store.list_runs(chosen)}
    assert sorted(runs) == ["completed", "failed"]
    assert RunRecord.load(chosen / runs["completed"]["run_id"]).config["output_dir"] == str(chosen)
    assert not (tmp_path / "runs").exists() and not (tmp_path / "from_file").exists()


def test_an_output_dir_option_that_contradicts_the_setting_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    option, setting = tmp_path / "option", tmp_path / "setting"
    result = runner.invoke(app, ["run", *SMALL, _data(tmp_path), f"output_dir={setting}",
                                 "--output-dir", str(option)])
    assert result.exit_code == 2
    line = one_sentence(result.output)
    assert f"--output-dir {option} and output_dir={setting} name two folders" in line, line
    _failed_here(option, "name two folders")
    assert not setting.exists() and not (tmp_path / "runs").exists()


# -- a full disk --------------------------------------------------------------------------------
class FullDisk:
    """Every atomic write (files.write_bytes: records, reports, cards) fails half-way with
    ENOSPC once ``fill()`` is called, as on a disk that filled up."""

    def __init__(self, monkeypatch):
        self.full = False
        real = os.fdopen
        disk = self

        class Writer:
            def __init__(self, fh):
                self.fh = fh

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.fh.close()

            def write(self, data):
                if not disk.full:
                    return self.fh.write(data)
                self.fh.write(data[: len(data) // 2])
                raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(files.os, "fdopen", lambda fd, mode: Writer(real(fd, mode)))

    def fill(self) -> None:
        self.full = True


def test_a_disk_that_fills_during_a_run_records_it_failed_and_names_the_path(
        tmp_path, monkeypatch):
    import greennlp.tasks.classification_stages as stages

    disk, real = FullDisk(monkeypatch), stages.prepare

    def prepare_then_fill(*args, **kwargs):
        out = real(*args, **kwargs)
        disk.fill()  # the data stage's end (record.json) is the first write to fail
        return out
    monkeypatch.setattr(stages, "prepare", prepare_then_fill)
    out = tmp_path / "runs"
    result = runner.invoke(app, ["run", *SMALL, _data(tmp_path), f"output_dir={out}"])
    assert result.exit_code == 2, result.output
    line = one_sentence(result.output)
    run = store.list_runs(out)[0]
    record_path = out / run["run_id"] / "record.json"
    assert f"The disk is full: could not write {record_path};" in line, line
    assert run["status"] == "failed" and run["error"].startswith("The disk is full"), run
    assert str(record_path) in run["error"]
    listed = runner.invoke(app, ["runs", "--output-dir", str(out)])
    assert "failed" in listed.output and "interrupted" not in listed.output
    assert not [p for p in (out / run["run_id"]).iterdir() if p.name.endswith(".tmp")]


def test_a_disk_full_from_the_start_records_the_run_failed(tmp_path, monkeypatch):
    FullDisk(monkeypatch).fill()
    out = tmp_path / "runs"
    result = runner.invoke(app, ["run", *SMALL, _data(tmp_path), f"output_dir={out}"])
    assert result.exit_code == 2, result.output
    line = one_sentence(result.output)
    run = store.list_runs(out)[0]
    assert f"could not write {out / run['run_id'] / 'record.json'}" in line, line
    assert run["status"] == "failed" and "The disk is full" in run["error"]


# -- an export to a full disk -------------------------------------------------------------------
@pytest.fixture(scope="module")
def encoder_run(tmp_path_factory):
    """A finished run with a tiny transformer: (output folder, run id)."""
    folder = tmp_path_factory.mktemp("encoder")
    out = folder / "runs"
    overrides = [o for o in TINY_OVERRIDES if not o.startswith(("models=", "transformer.train.epochs"))]
    result = runner.invoke(app, ["run", *overrides, "models=[transformer]",
                                 "transformer.train.epochs=1", _data(folder), f"output_dir={out}"])
    assert result.exit_code == 0, result.output
    return out, store.list_runs(out)[0]["run_id"]


@pytest.mark.parametrize("where", ["new folder", "new folder in new folders", "default",
                                   "empty folder"])
def test_an_export_to_a_full_disk_leaves_no_partial_folder(encoder_run, tmp_path, monkeypatch,
                                                          where):
    out, run_id = encoder_run
    target = {"new folder": tmp_path / "export", "empty folder": tmp_path / "empty",
              "new folder in new folders": tmp_path / "a" / "b" / "export",
              "default": None}[where]
    if where == "empty folder":
        target.mkdir()
    FullDisk(monkeypatch).fill()
    before = sorted(p for p in tmp_path.rglob("*"))
    args = ["export", run_id, "--output-dir", str(out)] + (["--out", str(target)] if target else [])
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    line = one_sentence(result.output)
    assert "The disk is full" in line and "README.md" in line, line
    assert sorted(p for p in tmp_path.rglob("*")) == before
    assert not (out / run_id / "exports").exists()
    if target is not None:
        assert "--out" in line and "output_dir" not in line, line


# -- file modes: the umask, as a plain write honours it -------------------------------------------
@pytest.fixture(params=[0o022, 0o077], ids=["umask 022", "umask 077"])
def mask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_atomic_writes_honour_the_umask(tmp_path, mask):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    (tmp_path / "plain_dir").mkdir()
    written = files.write_text(tmp_path / "a.txt", "x")
    with files.atomic_folder(tmp_path / "folder") as tmp:
        (tmp / "w").write_text("x")
    assert oct(written.stat().st_mode & 0o777) == oct(plain.stat().st_mode & 0o777) \
        == oct(0o666 & ~mask)
    assert oct((tmp_path / "folder").stat().st_mode & 0o777) == \
        oct((tmp_path / "plain_dir").stat().st_mode & 0o777) == oct(0o777 & ~mask)
    assert files.umask() == mask  # read without changing it


def test_a_run_writes_its_files_with_the_umask_modes(tmp_path, mask):
    out = tmp_path / "runs"
    result = runner.invoke(app, ["run", *SMALL, _data(tmp_path), f"output_dir={out}"])
    assert result.exit_code == 0, result.output
    run_dir = out / store.list_runs(out)[0]["run_id"]
    for name in ("record.json", "report.html", "MODEL_CARD.md", "DATASHEET.md"):
        assert oct((run_dir / name).stat().st_mode & 0o777) == oct(0o666 & ~mask), name
    wrong = {str(p.relative_to(out)): oct(p.stat().st_mode & 0o777) for p in out.rglob("*")
             if p.stat().st_mode & 0o777 != (0o777 if p.is_dir() else 0o666) & ~mask}
    assert not wrong, wrong  # model folders and every other file and folder too


# -- load: runs writing one registry while it is read ----------------------------------------------
WRITER = """
import sys
from greennlp.run import start
from greennlp.tasks import load_config

cfg = load_config(None, [f"output_dir={sys.argv[1]}", f"name={sys.argv[2]}"])
run = start(cfg, "load", log=lambda text: None)
steps = [lambda r, i=i: r.stage(f"step{i}", lambda st: None) for i in range(int(sys.argv[3]))]
run.execute(steps, write_reports=lambda record: None)
"""

READER = """
import json, sys
from pathlib import Path
from greennlp import store

out, stop = sys.argv[1], Path(sys.argv[2])
real, failed, loops = store._records, [], 0
store._records = lambda folder: failed.append(loops) or real(folder)  # a registry read failed
while not stop.exists():
    store.list_runs(out)
    loops += 1
print(json.dumps({"loops": loops, "failed": len(failed)}))
"""


@pytest.mark.integration
def test_eight_runs_write_one_registry_while_it_is_read(tmp_path, monkeypatch):
    """8 processes at once go through a run's registry writes (start, 15 measured stages,
    finish) into one output folder, while `greennlp runs` and what `greennlp report` reads
    loop over the registry: every run recorded, no "database is locked", every row a reader
    sees whole, and never a registry read that failed. (8 whole runs take ~5 minutes on
    2 shared cores; the writes are the same.)"""
    import subprocess
    import sys

    from greennlp.run import find_record

    out = tmp_path / "runs"
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root / "src"), GREENNLP_PROGRESS="0",
               OMP_NUM_THREADS="1")
    stop = tmp_path / "stop"
    tight = subprocess.Popen([sys.executable, "-c", READER, str(out), str(stop)],
                             stdout=subprocess.PIPE, text=True, env=env)  # reads without pause
    runs = [subprocess.Popen([sys.executable, "-c", WRITER, str(out), f"load{i}", "15"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
            for i in range(8)]
    fallbacks, real_records = [], store._records
    monkeypatch.setattr(store, "_records",  # list_runs reads the records when the registry fails
                        lambda folder: fallbacks.append(folder) or real_records(folder))
    loops, seen, problems = 0, set(), []
    while any(p.poll() is None for p in runs) or loops == 0:
        listed = runner.invoke(app, ["runs", "--output-dir", str(out), "--limit", "20"])
        if listed.exit_code != 0 or "locked" in listed.output:
            problems.append(listed.output)
        for row in store.list_runs(out):
            seen.add(row["run_id"])
            whole = all(row[c] for c in ("run_id", "created_at", "status", "run_dir"))
            if not whole or row["status"] not in ("running", "completed", "failed", "interrupted"):
                problems.append(row)
            if row["status"] == "completed":
                if row["finished_at"] is None or row["duration_s"] is None:
                    problems.append(row)
                assert find_record(row["run_id"], str(out)).status == "completed"
        loops += 1
    outputs = [p.communicate()[0] for p in runs]
    stop.touch()
    tight_reads = json.loads(tight.communicate(timeout=60)[0])
    assert [p.returncode for p in runs] == [0] * 8, outputs
    assert not [o for o in outputs if "locked" in o or "Traceback" in o], outputs
    rows = store.list_runs(out)
    assert sorted(r["name"] for r in rows) == [f"load{i}" for i in range(8)]
    assert [r["status"] for r in rows] == ["completed"] * 8
    for row in rows:
        stages = RunRecord.load(out / row["run_id"]).stages
        assert [s.name for s in stages] == [f"step{i}" for i in range(15)]
    assert not problems and not fallbacks, (problems, len(fallbacks))
    assert tight_reads["failed"] == 0 and tight_reads["loops"] > loops, tight_reads
    assert loops > 1 and len(seen) == 8, (loops, len(seen))
