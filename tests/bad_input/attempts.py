"""Attempts of ``greennlp run``: each a process of its own, killed (SIGKILL), stopped
(SIGTERM) or starved of disk at a chosen moment, then resumed.

Every attempt is forked from one server process that has imported greennlp, torch and
scikit-learn once (multiprocessing's ``forkserver``): an attempt starts in milliseconds,
not the ~10 s of imports a fresh interpreter takes on a busy machine, so the moments of a
run of a few seconds can be hit without a four-minute test. The attempt runs the real CLI
(``greennlp.cli.app``) with its own arguments, environment and log file.
"""

from __future__ import annotations

import builtins
import errno
import json
import multiprocessing
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

PRELOAD = ["tests.bad_input.preload"]
PROGRESS_EVERY_S = 0.5  # the stages' running totals: saved often, so kills test them


def _context():
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


WRITES = {"n": 0}  # files opened for writing by this attempt


def _full_disk_after(writes: int) -> None:
    """Files opened for writing after the first ``writes`` get half their data, then
    ENOSPC (the disk is full)."""
    seen = WRITES
    real_open, real_fdopen = builtins.open, os.fdopen

    class Full:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

    def wrap(fh, mode):
        if not any(c in str(mode) for c in "wax+"):
            return fh
        seen["n"] += 1
        return Full(fh) if seen["n"] > writes else fh

    def patched_open(file, mode="r", *args, **kwargs):
        return wrap(real_open(file, mode, *args, **kwargs), mode)

    def patched_fdopen(fd, mode="r", *args, **kwargs):
        return wrap(real_fdopen(fd, mode, *args, **kwargs), mode)

    builtins.open, os.fdopen = patched_open, patched_fdopen


def attempt(args: list[str], log: str, env: dict[str, str], full_disk_after: int | None,
            count_to: str | None) -> None:
    """One attempt (in the forked process): ``greennlp ARGS``, output to ``log``."""
    os.environ.update(env)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.argv = ["greennlp", *args]
    from greennlp.cli import app
    from greennlp.measure import tracker

    tracker.PROGRESS_EVERY_S = PROGRESS_EVERY_S
    if full_disk_after is not None or count_to:
        _full_disk_after(full_disk_after if full_disk_after is not None else 10**9)
    try:
        app(args, prog_name="greennlp")
    finally:
        if count_to:
            os.write(os.open(count_to, os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                     str(WRITES["n"]).encode())
        sys.stdout.flush()
        sys.stderr.flush()


@dataclass
class Attempt:
    args: list[str]
    seconds: float  # from the fork to its end
    exitcode: int | None
    stopped: str | None  # "kill", "term" or None (it ended by itself)
    progress: dict[str, float] = field(default_factory=dict)  # stage -> saved duration


class Attempts:
    """Attempts of one run in ``folder`` (its output_dir ``folder / "runs"``)."""

    def __init__(self, folder: Path, env: dict[str, str] | None = None):
        self.folder, self.out = folder, folder / "runs"
        folder.mkdir(parents=True, exist_ok=True)
        self.log = folder / "attempts.log"
        self.env = {"GREENNLP_PROGRESS": "0", "OMP_WAIT_POLICY": "PASSIVE", **(env or {})}
        self.ctx = _context()
        self.done: list[Attempt] = []

    def run_id(self) -> str | None:
        """The run with a record (a kill before the first save leaves none)."""
        found = sorted(p.parent.name for p in self.out.glob("*/record.json"))
        return found[-1] if found else None

    def args(self, first: list[str]) -> list[str]:
        run_id = self.run_id()
        return first if run_id is None else ["run", "--resume", run_id, "--output-dir",
                                             str(self.out)]

    def one(self, first: list[str], stop_after: float | None = None, how: str = "kill",
            full_disk_after: int | None = None, count_to: Path | None = None,
            timeout: float = 300) -> Attempt:
        """An attempt (a new run, or the resumption of the one in ``out``), stopped
        after ``stop_after`` seconds (None: left to finish)."""
        args = self.args(first)
        with open(self.log, "a") as fh:
            fh.write(f"\n=== {' '.join(args)} (stop after {stop_after}, {how}, disk "
                     f"{full_disk_after})\n")
        proc = self.ctx.Process(target=attempt, args=(args, str(self.log), self.env,
                                                      full_disk_after,
                                                      str(count_to) if count_to else None))
        t0 = time.perf_counter()
        proc.start()
        proc.join(stop_after if stop_after is not None else timeout)
        stopped = None
        if proc.exitcode is None:
            stopped = how if stop_after is not None else "timeout"
            (proc.kill if how == "kill" or stopped == "timeout" else proc.terminate)()
            proc.join(30)
        seconds = time.perf_counter() - t0
        done = Attempt(args, seconds, proc.exitcode, stopped, self.saved_progress())
        self.done.append(done)
        assert stopped != "timeout", f"attempt ran past {timeout} s: {self.log.read_text()[-3000:]}"
        return done

    def saved_progress(self) -> dict[str, float]:
        """The running totals that the stages of the run have saved (stage -> duration)."""
        run_id = self.run_id()
        if run_id is None:
            return {}
        out = {}
        folder = self.out / run_id
        for path in [*folder.glob(".progress/*.json"), *folder.glob("search/*/*/progress.json")]:
            try:
                saved = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            out[saved["stage"]] = saved["duration_s"]
        return out
