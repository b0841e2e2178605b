"""Tasks as recipes: the Task interface, the table of tasks, and the library functions the
CLI calls.

A task is one :class:`Task` value (in its module, ``tasks/<task>.py``): its ordered stages,
how it prepares its data, which metric selects its model and in which direction, how it
scores a model on dev and test, its config checks and defaults, its reports (card,
datasheet, section of report.html) and its console summary. Nothing outside the task's
own modules and the family table knows a task or family by name: shared code asks the
Task or the family table. Adding a task is one module plus one :func:`register_task`
call (the built-in tasks are listed in :data:`TASKS` and imported when first used).
Every stage takes the :class:`~greennlp.run.Run` and goes through ``run.stage``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from greennlp.config import RunConfig, build_config, config_from_record, read_config
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
           "register_task", "resume", "resume_command", "start", "summary", "task",
           "write_reports"]

Stage = Callable[[Run], None]


def _no_check(cfg: RunConfig) -> None:
    return None


def _nobody_joins(cfg: RunConfig, record: RunRecord | None = None) -> Run | None:
    return None


@dataclass(frozen=True)
class Task:
    """Everything that makes a task, in one place.

    Attributes
    ----------
    name
        The value of the config key ``task``.
    stages
        The recipe: ``stages()`` -> the ordered stages (imported when a run starts: they
        may import torch).
    reports
        ``reports()`` -> the :class:`~greennlp.report.Reports` of a run: its model card,
        datasheet and section of report.html.
    summary
        ``summary(record)`` -> lines or rich renderables for the end of ``greennlp run``.
    audit
        ``audit()`` -> the stages ``greennlp audit`` runs: the data stage and the task's
        data audit.
    compress
        ``compress()`` -> the stages ``greennlp compress RUN_ID`` runs on a finished run
        (compression and what follows it), or None when the task compresses nothing.
    prepare
        ``prepare(run)`` -> (splits, the record's data section): load, clean and split the
        task's data; the shared data stage saves and reloads the splits.
    selection
        ``selection(run)`` -> ``{"metric", "higher_is_better", "reason"}``: how the run
        selects its model on dev (after the data stage); ``RunRecord.select`` follows it.
    evaluate
        ``evaluate(run, result, model, full=True)`` -> (dev, test) scores: score a model on
        dev and, once, on test, filling ``result``; dense models, compressed variants and
        (``full=False``: scores only) seed replicas go through it alike.
    check
        ``check(cfg)`` raises a one-sentence UserError for what the config's own checks
        cannot see (family names and capabilities, from the family table).
    defaults
        Config values laid under the user's file and overrides when this task is chosen
        (e.g. the task's default data source).
    join
        ``join(cfg, record)`` -> a run for a process joining another's (a torchrun rank
        > 0), or None.
    refuses_runs
        None, or the sentence that explains why ``greennlp run`` cannot run or resume it
        (a run recorded from a user's own Trainer).
    passive_openmp
        Idle OpenMP threads sleep instead of spinning (set before torch loads).
    """

    name: str
    stages: Callable[[], tuple[Stage, ...]]
    reports: Callable[[], Reports]
    summary: Callable[[RunRecord], list[Any]]
    audit: Callable[[], tuple[Stage, ...]] = tuple
    compress: Callable[[], tuple[Stage, ...]] | None = None
    prepare: Callable[[Run], tuple[Any, dict[str, Any]]] | None = None
    selection: Callable[[Run], dict[str, Any]] | None = None
    evaluate: Callable[..., tuple[dict, dict]] | None = None
    check: Callable[[RunConfig], None] = _no_check
    defaults: Mapping[str, Any] = field(default_factory=dict)
    join: Callable[..., Run | None] = _nobody_joins
    refuses_runs: str | None = None
    passive_openmp: bool = False


# The built-in tasks: name -> the module that registers it (imported when first asked for).
TASKS: dict[str, Task | str] = {
    "classification": "greennlp.tasks.classification",
    "lm": "greennlp.tasks.lm",
    "preference": "greennlp.tasks.preference",
    "trainer": "greennlp.tasks.trainer",  # recorded from a user's Trainer, not run here
}
DEFAULT_TASK = "classification"  # records written before the task key existed


def register_task(new: Task) -> Task:
    """Add (or replace) a task in the table; returns it."""
    TASKS[new.name] = new
    return new


def task(name: str) -> Task:
    """The task called ``name``."""
    if name not in TASKS:
        raise UserError(f"Config key 'task' is {name!r}; choose one of: {', '.join(TASKS)}.")
    entry = TASKS[name]
    if isinstance(entry, str):
        entry = TASKS[name] = importlib.import_module(entry).TASK
    return entry


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

    data = read_config(source, overrides)
    name = data.get("task", DEFAULT_TASK)  # the task's defaults go under the user's settings
    cfg = build_config(data, task(name).defaults if isinstance(name, str) else None)
    t = task(cfg.task)
    _refuse(t)
    t.check(cfg)
    carbon_intensity(cfg.measure.region)  # an unknown region fails here, before any work
    return cfg


def _task_of(record: RunRecord) -> Task:
    return task(record.config.get("task", DEFAULT_TASK))


def write_reports(record: RunRecord) -> dict[str, str]:
    """(Re)write a run's report, model card, datasheet and checklist from its record."""
    return _task_of(record).reports().write(record)


def summary(record: RunRecord) -> list[Any]:
    """What the end of ``greennlp run`` prints about a run's models."""
    return _task_of(record).summary(record)


def _refuse(t: Task) -> None:
    if t.refuses_runs:
        raise UserError(t.refuses_runs)


def start(cfg: RunConfig, command: str = "", log: Log = print) -> Run:
    """A new run of ``cfg`` (checked again: a config may come from anywhere)."""
    t = task(cfg.task)
    _refuse(t)
    t.check(cfg)
    run = t.join(cfg) or start_run(cfg, command, log)
    run.task = t
    return run


def resume(run_id: str, output_dir: str = "runs", log: Log = print) -> Run:
    """Reopen a failed or interrupted run; finished stages are kept."""
    record = find_record(run_id, output_dir)
    if record.status == "completed":
        raise UserError(f"Run {record.run_id} already completed; start a new one with "
                        f"`greennlp run`.")
    t = _task_of(record)
    if t.refuses_runs:
        raise UserError(f"Run {record.run_id}: {t.refuses_runs}")
    cfg = config_from_record(record.config)
    follower = t.join(cfg, record)  # a torchrun rank > 0 never writes or locks
    if follower is not None:
        follower.task = t
        return follower
    run = reopen(record, log, cfg=cfg)
    run.task = t
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

        live = LiveLogger(run.cfg.track.mlflow_uri, run.cfg.track.mlflow_experiment,
                          run.cfg.track.mlflow_register)
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
    from greennlp.compress.stages import compress_config
    from greennlp.data import Splits
    from greennlp.models import load_model

    record = find_record(run_id, output_dir)
    if not record.stage("data"):
        raise UserError(f"Run {record.run_id} has no finished data stage; resume it with "
                        f"`{resume_command(record)}` first.")
    cfg = compress_config(record.config, source, overrides, output_dir)
    t = task(cfg.task)
    if t.compress is None:
        raise UserError(f"Run {record.run_id} is a {t.name} run; `greennlp compress` compresses "
                        f"the models of a run whose task has compression (classification).")
    t.check(cfg)
    run = reopen(record, log, cfg=cfg)
    run.task = t
    run.splits = Splits.load(run.run_dir / "data", record.data["split"])
    for m in run.record.models:
        if not m.variant_of and m.checkpoint and Path(m.checkpoint).exists():
            run.models[m.name] = load_model(m.checkpoint)
    run.record.notes.append(f"compressed by `greennlp compress` at {utc_now()}")
    return run.execute(list(t.compress()), t.reports().write)
