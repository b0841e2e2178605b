"""A run in progress: its config, record and folder, the measured stages, the test gate.

Every stage of every task goes through :meth:`Run.stage`: it is measured by
:func:`greennlp.measure.track`, appended to the record, and the record is saved (and
the registry updated) when it ends; when the record says the stage already finished
(a resumed run), it is skipped and its outputs are reloaded instead, one way for all.

Models are scored on the test split only through :meth:`Run.test_pass` (the task's
``evaluate`` is built on it): every pass is counted in the record, and a second pass for a
model (or audit member) already scored on test is refused. The run knows no task: it holds
its :class:`~greennlp.tasks.Task` (``task``) for the stages that ask it how to score a model.
"""

from __future__ import annotations

import random
import shlex
import sys
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np

from greennlp import store
from greennlp.config import RunConfig, config_from_record, to_dict
from greennlp.errors import UserError
from greennlp.files import storage_problem
from greennlp.measure import Footprint, track
from greennlp.measure.hardware import describe_hardware, describe_software, usable_cpus
from greennlp.record import RunRecord, StageResult, new_run_id, utc_now
from greennlp.run_lock import RunLock

Log = Callable[[str], None]
T = TypeVar("T")


class RepeatedTestEvaluation(RuntimeError):
    """A second test evaluation of the same model: refused (selection must use dev)."""


@dataclass
class Run:
    """A run in progress: its config, record, footprint settings and what stages share.

    ``splits`` are the data the data stage made; ``models`` the trained (or loaded)
    models by name, for the stages that use them after they were made.
    """

    cfg: RunConfig
    record: RunRecord
    footprint: Footprint
    log: Log = print
    splits: Any = None
    models: dict[str, Any] = field(default_factory=dict)
    listeners: list[Callable[[RunRecord], None]] = field(default_factory=list)  # after each save
    task: Any = None  # the run's Task (greennlp.tasks): how it prepares, selects, evaluates
    _pending: list[list[str]] = field(default_factory=list, repr=False)
    _lock: RunLock | None = field(default=None, repr=False)

    def hold(self, lock: RunLock) -> None:
        """Keep ``lock`` (acquired) until :meth:`release`, or until this run is dropped."""
        self._lock = lock
        weakref.finalize(self, lock.release)

    def release(self) -> None:
        """Let another process write this run (the end of :meth:`execute`)."""
        if self._lock is not None:
            self._lock.release()

    @property
    def run_dir(self) -> Path:
        return Path(self.record.run_dir)

    def persist(self, record: RunRecord | None = None) -> None:
        """Save record.json and update the registry row (of the folder that holds the run:
        a resumed run may have moved since its config named its output_dir).

        When record.json cannot be written (a full disk) at the end of a run, the registry
        row alone says how it ended (a small write, in another file), so that `greennlp
        runs` shows it failed, with the error, not interrupted.
        """
        try:
            self.record.save()
        except BaseException:
            if self.record.status != "running":
                self._registry_only()
            raise
        store.upsert(self.run_dir.parent, self.record)
        for listen in self.listeners:
            listen(self.record)

    def _registry_only(self) -> None:
        import sqlite3

        try:
            store.upsert(self.run_dir.parent, self.record)
        except (OSError, sqlite3.Error):  # the registry cannot take it either
            pass

    def fail(self, exc: BaseException) -> None:
        """Mark the run failed by ``exc`` (its sentence: a user error's, or a full or
        unwritable disk's, which names the path)."""
        self.record.status = "failed"
        self.record.error = str(exc) if isinstance(exc, UserError) else \
            storage_problem(exc) or f"{type(exc).__name__}: {exc}"

    def note(self, text: str) -> None:
        """Say something once, in the log and in the record's notes."""
        if self.record.note(text):
            self.log(text)

    # -- stages ---------------------------------------------------------------------------
    def stage(self, name: str, work: Callable[[StageResult], T],
              reload: Callable[[StageResult], T] | None = None) -> T | None:
        """Run ``work(stage_result)`` as the measured stage ``name``.

        If the record says ``name`` already finished, nothing runs: the result is
        ``reload(finished_stage)`` (None without ``reload``), which restores what the
        stage made (a model, the splits) from the run folder. A test pass made inside the
        stage is counted at once (``record.test_evaluations``) and enters the ledger of
        what was scored (``record.tested``) when the stage finishes, so a stage that
        failed after its pass can redo it when the run is resumed.
        """
        done = self.record.stage(name)
        if done is not None:
            return reload(done) if reload else None
        self._pending.append([])
        try:
            with track(name, self.record, self.footprint, on_finish=self.persist,
                       progress_file=self.progress_file(name)) as st:
                out = work(st)
                self.record.tested.extend(self._pending[-1])
        finally:
            self._pending.pop()
        return out

    def progress_file(self, stage: str) -> Path:
        """Where stage ``stage`` saves its running totals while it runs (kept by a kill)."""
        return self.run_dir / ".progress" / (stage.replace(":", "_").replace("/", "_") + ".json")

    # -- the test gate ----------------------------------------------------------------------
    def test_pass(self, key: str, use: Callable[[Any], T]) -> T:
        """``use(test split)``: the only way a model is scored on test. Counted; once per key.

        ``key`` names what is scored: a model (its name), a seed replica (its stage) or an
        audit member. A key already scored is refused with :class:`RepeatedTestEvaluation`.
        """
        pending = [k for keys in self._pending for k in keys]
        if key in self.record.tested or key in pending:
            raise RepeatedTestEvaluation(f"{key} was already evaluated on test; a second evaluation "
                                f"is refused (select on dev, report test once)")
        out = use(self.splits.test)
        self.record.test_evaluations += 1
        if self._pending:
            self._pending[-1].append(key)
        else:
            self.record.tested.append(key)
        return out

    # -- the whole run ----------------------------------------------------------------------
    def execute(self, steps: list[Callable[["Run"], None]],
                write_reports: Callable[[RunRecord], Any]) -> RunRecord:
        """Run ``steps`` in order; on any failure mark the run failed (and re-raise).

        The reports are written once more at the end of a completed run, so that they
        include the last stage and the final status.
        """
        import torch

        torch.set_num_threads(usable_cpus())
        seed_everything(self.cfg.seed)
        try:
            for step in steps:
                step(self)
            self.record.status = "completed"
        except BaseException as exc:
            self.fail(exc)
            raise
        finally:
            try:
                self.record.finished_at = utc_now()
                try:
                    self.persist()
                except BaseException as exc:  # record.json cannot say so: the registry does
                    if self.record.status == "completed":
                        self.fail(exc)
                        self._registry_only()
                    raise
                if self.record.status == "completed":
                    write_reports(self.record)
            finally:
                self.release()
        return self.record


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (torch only if it is already imported)."""
    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def new_record(output_dir: str | Path, config: dict[str, Any], footprint: Footprint,
               command: str | None = None) -> RunRecord:
    """The record of a new run (status ``running``, not saved yet): its id and folder under
    ``output_dir``, the config, the command, the hardware and software, the footprint
    settings and what cannot be measured here. Every run starts here: ``greennlp run``
    (:func:`start`) and a user's Trainer (``greennlp.integrations.hf.GreenNLPCallback``)."""
    run_id = new_run_id()
    record = RunRecord(run_id=run_id, run_dir=str(Path(output_dir) / run_id), config=config,
                       command=shlex.join(sys.argv) if command is None else command,
                       hardware=describe_hardware(),
                       software={**describe_software(), **source_control()})
    record.footprint = footprint.describe()
    for why in footprint.unmeasured.values():
        record.note(f"Not measured: {why}.")
    return record


def source_control() -> dict[str, str]:
    """The git commit and branch of the working directory the run starts in (where the
    user's code and config live), for trackers' source tags; empty outside a checkout."""
    import subprocess

    out = {}
    for name, args in (("git_commit", ["rev-parse", "HEAD"]),
                       ("git_branch", ["rev-parse", "--abbrev-ref", "HEAD"])):
        try:
            done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):  # no git here
            return out
        if done.returncode != 0:  # not a checkout
            return out
        out[name] = done.stdout.strip()
    return out


def start(cfg: RunConfig, command: str = "", log: Log = print) -> Run:
    """Create the run directory and record (status ``running``), holding the run's lock."""
    footprint = Footprint.from_config(cfg.measure)
    record = new_record(cfg.output_dir, to_dict(cfg), footprint, command or None)
    record.seeds = {"run": cfg.seed, "split": cfg.seed}
    run = Run(cfg, record, footprint, log)
    lock = RunLock(record.run_dir, record.run_id)
    lock.acquire()
    run.hold(lock)
    for note in record.notes:
        log(note)
    try:
        run.persist()
    except BaseException as exc:  # a full disk at the start: recorded as failed where it can be
        run.fail(exc)
        record.finished_at = utc_now()
        run._registry_only()
        run.release()
        raise
    return run


def resume_command(record: RunRecord) -> str:
    """The command that resumes ``record``'s run, as it can be pasted from any folder."""
    folder = Path(record.run_dir).resolve().parent
    return f"greennlp run --resume {record.run_id} --output-dir {shlex.quote(str(folder))}"


def find_record(run_id: str, output_dir: str = "runs") -> RunRecord:
    """The record of run ``run_id`` (a unique prefix is enough) under ``output_dir``."""
    folders = store.run_dirs(output_dir, run_id)
    if len(folders) > 1:
        shown = ", ".join(f.name for f in folders[:3]) + (", ..." if len(folders) > 3 else "")
        raise UserError(f"Run id '{run_id}' is ambiguous under {output_dir}: {len(folders)} runs "
                        f"begin with it ({shown}); give more of the id (see `greennlp runs`).")
    if not folders:
        raise UserError(f"No run '{run_id}' under {output_dir}; see `greennlp runs` for ids.")
    return RunRecord.load(folders[0])


def reopen(record: RunRecord, log: Log = print, cfg: RunConfig | None = None) -> Run:
    """A recorded run, back in progress (``cfg`` replaces the recorded configuration:
    ``greennlp compress`` edits its compress section).

    The run's lock is taken first: a second process working on the same run is refused
    (one sentence) before it changes anything; a lock left by a killed process is taken
    over, and the record says so.
    """
    from greennlp.files import sweep_temporaries

    cfg = cfg or config_from_record(record.config)
    lock = RunLock(record.run_dir, record.run_id)
    took_over = lock.acquire()
    if took_over:  # a killed writer's temporary files (the lock keeps out live ones)
        sweep_temporaries(record.run_dir)
    if record.path.exists():
        try:
            record = RunRecord.load(record.path)  # what the last holder wrote
        except BaseException:
            lock.release()
            raise
    record.config = to_dict(cfg)
    record.status, record.error = "running", None
    run = Run(cfg, record, Footprint.from_config(cfg.measure), log)
    run.hold(lock)
    if took_over:
        run.note(f"Run {record.run_id}: {took_over}.")
    return run


def record_failed_start(output_dir: str, command: str, error: str) -> RunRecord:
    """Record a run that failed before it could start (e.g. a bad config key)."""
    run_id = new_run_id()
    record = RunRecord(run_id=run_id, run_dir=str(Path(output_dir) / run_id), command=command,
                       status="failed", error=error, finished_at=utc_now())
    record.save()
    store.upsert(output_dir, record)
    return record
