"""Tasks as recipes: the table of tasks, and the library functions the CLI calls.

A task is a module with the small :class:`Task` interface: its ordered ``stages``,
the configuration ``check`` that needs the table of model families, its ``reports`` and
its console ``summary``. Adding a task is one module and one entry in :data:`TASKS`.
Every stage takes the :class:`~greennlp.run.Run` and goes through ``run.stage``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable, Protocol

from greennlp.config import RunConfig, from_dict, parse_config
from greennlp.errors import UserError
from greennlp.record import RunRecord, utc_now
from greennlp.report import Reports
from greennlp.run import (
    Log,
    Run,
    find_record,
    record_failed_start,
    reopen,
    resume_command,
)
from greennlp.run import start as start_run

__all__ = ["TASKS", "Task", "compress", "execute", "load_config", "record_failed_start",
           "resume", "resume_command", "start", "summary", "task", "write_reports"]


class Task(Protocol):
    """What a task module offers."""

    PASSIVE_OPENMP: bool  # idle OpenMP threads sleep instead of spinning (set before torch)

    def stages(self) -> tuple[Callable[[Run], None], ...]:
        """The stages, in order."""

    def check(self, cfg: RunConfig) -> None:
        """Reject (one sentence, :class:`~greennlp.errors.UserError`) what the config
        checks of :mod:`greennlp.config` cannot see: family names and capabilities."""

    def reports(self) -> Reports:
        """The report files of a run."""

    def summary(self, record: RunRecord) -> list[Any]:
        """Lines or rich renderables for the end of ``greennlp run``."""

    def join(self, cfg: RunConfig, record: RunRecord | None = None) -> Run | None:
        """A process joining another's run (a torchrun rank > 0), or None."""


TASKS: dict[str, str] = {  # task name -> its module
    "classification": "greennlp.tasks.classification",
    "lm": "greennlp.tasks.lm",
    "trainer": "greennlp.tasks.trainer",  # recorded from a user's Trainer, not run here
}


def task(name: str) -> Task:
    """The task module called ``name``."""
    if name not in TASKS:
        raise UserError(f"Config key 'task' is {name!r}; choose one of: {', '.join(TASKS)}.")
    return importlib.import_module(TASKS[name])


def load_config(source: str | None = None, overrides: list[str] | tuple[str, ...] = ()
                ) -> RunConfig:
    """Read and check a run configuration completely: what ``greennlp run`` and
    ``greennlp config`` share, so both reject exactly the same configurations.

    Parameters
    ----------
    source
        A config file (.yaml/.yml/.toml/.json), a built-in profile name, or None.
    overrides
        Dotted ``key=value`` strings applied last, e.g. ``transformer.train.epochs=2``.
    """
    from greennlp.measure.tables import carbon_intensity

    cfg = parse_config(source, overrides)
    task(cfg.task).check(cfg)
    carbon_intensity(cfg.measure.region)  # an unknown region fails here, before any work
    return cfg


def _task_of(record: RunRecord) -> Task:
    return task(record.config.get("task", "classification"))


def write_reports(record: RunRecord) -> dict[str, str]:
    """(Re)write a run's report, model card, datasheet and checklist from its record."""
    return _task_of(record).reports().write(record)


def summary(record: RunRecord) -> list[Any]:
    """What the end of ``greennlp run`` prints about a run's models."""
    return _task_of(record).summary(record)


def start(cfg: RunConfig, command: str = "", log: Log = print) -> Run:
    """A new run of ``cfg`` (checked again: a config may come from anywhere)."""
    t = task(cfg.task)
    t.check(cfg)
    return t.join(cfg) or start_run(cfg, command, log)


def resume(run_id: str, output_dir: str = "runs", log: Log = print) -> Run:
    """Reopen a failed or interrupted run; finished stages are kept."""
    record = find_record(run_id, output_dir)
    if record.status == "completed":
        raise UserError(f"Run {record.run_id} already completed; start a new one with "
                        f"`greennlp run`.")
    if record.config.get("task") == "trainer":
        raise UserError(f"Run {record.run_id} was recorded from a Trainer script by "
                        f"GreenNLPCallback; run the script again to record a new run.")
    cfg = from_dict(RunConfig, record.config)
    follower = task(cfg.task).join(cfg, record)  # a torchrun rank > 0 never writes or locks
    if follower is not None:
        return follower
    run = reopen(record, log, cfg=cfg)
    run.record.notes.append(f"resumed at {utc_now()}")
    run.persist()
    return run


def execute(run: Run) -> RunRecord:
    """Every stage of the run's task; the run is marked completed or failed. With
    ``track.mlflow_uri`` the run is logged to MLflow as it runs (connecting is the first
    step, so an unreachable store fails the run at once)."""
    t = task(run.cfg.task)
    steps = list(t.stages())
    live = None
    if run.cfg.track.mlflow_uri:
        from greennlp.integrations.mlflow import LiveLogger

        live = LiveLogger(run.cfg.track.mlflow_uri, run.cfg.track.mlflow_experiment)
        steps.insert(0, live.connect)
    try:
        return run.execute(steps, t.reports().write)
    finally:
        if live is not None:
            live.finish(run.record)
            run.record.save()  # the notes of what was (not) logged


def compress(run_id: str, source: str | None = None, overrides: tuple[str, ...] = (),
             output_dir: str = "runs", log: Log = print) -> RunRecord:
    """Compress the models of an existing run (``greennlp compress RUN_ID``).

    Parameters
    ----------
    run_id
        A run id (or unique prefix) under ``output_dir``.
    source, overrides
        A config file or profile and ``key=value`` overrides; only the ``compress``
        section (and ``evaluate``, ``measure``) may differ from the run's own config.

    Returns
    -------
    RunRecord
        The run's record, with the variants, the audit and a regenerated report.
    """
    from greennlp.compress.stages import compress_config, stage_compress
    from greennlp.data import Splits
    from greennlp.models import load_model

    record = find_record(run_id, output_dir)
    if not record.stage("data"):
        raise UserError(f"Run {record.run_id} has no finished data stage; resume it with "
                        f"`{resume_command(record)}` first.")
    cfg = compress_config(record.config, source, overrides, output_dir)
    task(cfg.task).check(cfg)
    run = reopen(record, log, cfg=cfg)
    run.splits = Splits.load(run.run_dir / "data", record.data["split"])
    for m in run.record.models:
        if not m.variant_of and m.checkpoint and Path(m.checkpoint).exists():
            run.models[m.name] = load_model(m.checkpoint)
    run.record.notes.append(f"compressed by `greennlp compress` at {utc_now()}")
    from greennlp.tasks.analysis_stages import stage_analysis

    return run.execute([stage_compress, stage_analysis], task(cfg.task).reports().write)
