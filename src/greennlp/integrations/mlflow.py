"""A greennlp run in an MLflow tracking store: as it runs (``track.mlflow_uri``) or
afterwards (``greennlp export RUN_ID --to mlflow``).

What is logged, read from the run record:

* the run's own start and end times (not the export's), and its status;
* parameters: the resolved configuration, flattened (``data.source``, ``tfidf.C``, ...);
* metrics: each model's dev and test scores with their interval bounds
  (``test.accuracy``, ``test.accuracy.low``, ``test.accuracy.high``, prefixed by the
  model); per-epoch training curves as step series (``transformer.train_loss``,
  ``transformer.dev_score``, ``transformer.lr`` at step = epoch; a Trainer's logged
  losses at step = its global step); each stage's ``duration_s``, ``cpu_time_s``,
  ``energy_kwh``, ``co2_kg`` and ``cost_usd`` under the name of its family
  (``stage.train.energy_kwh``) at step = the stage's position in the run, and its own
  numeric metrics (``stage.evaluate.metric.eval_loss``), so that the UI draws one curve
  per family, not a chart per stage; the stages of each step are the tag
  ``greennlp.stages.<family>`` and the artifact ``stages.json``; the run's totals;
* tags: the greennlp run id, task, status, each stage family's energy methods, and the
  source (``mlflow.source.name``: the command; ``mlflow.source.git.commit``/``branch``
  where the run was started in a git checkout);
* inputs, models (:mod:`greennlp.integrations.mlflow_models`): each data split as a
  dataset input, the selected model (``transformers`` or ``pyfunc`` flavour, and its ONNX
  variant with the ``onnx`` flavour), registered when a registry name is given;
* artifacts: report.html, MODEL_CARD.md, DATASHEET.md, CHECKLIST.md and record.json.

MLflow is an optional extra (``pip install 'greennlp[mlflow]'``); it is imported here only.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from greennlp.errors import UserError
from greennlp.record import RunRecord, StageResult

ARTIFACTS = ("report.html", "MODEL_CARD.md", "DATASHEET.md", "CHECKLIST.md", "record.json")
STAGE_COSTS = ("duration_s", "cpu_time_s", "energy_kwh", "co2_kg", "cost_usd")
_BAD = re.compile(r"[^\w\-. :/]")  # MLflow keys: letters, digits, _ - . space : /
BATCH = 100  # MLflow accepts at most 100 params (1,000 metrics) per log_batch call


def key(text: str) -> str:
    """A metric, param or tag key MLflow accepts (``minilm+int8`` -> ``minilm_int8``).

    >>> key("evaluate:minilm+int8.latency_ms_b1")
    'evaluate:minilm_int8.latency_ms_b1'
    """
    return _BAD.sub("_", text)


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {key(prefix.rstrip(".")): str(value)[:6000]}


def params(record: RunRecord) -> dict[str, str]:
    """The resolved configuration, one parameter per setting."""
    return _flatten(record.config)


def family(stage: str) -> str:
    """The family of a stage: its name before the first colon.

    >>> family("train:transformer"), family("data")
    ('train', 'data')
    """
    return key(stage.split(":", 1)[0])


def stage_metrics(stage: StageResult) -> dict[str, float]:
    """A stage's time, energy, CO2e and money (what is unknown is left out), and its own
    numeric metrics as ``stage.<family>.metric.<metric>`` (e.g. a Trainer's ``eval_loss``),
    named by the stage's family: the stage itself is the step they are logged at."""
    fam = family(stage.name)
    out = {f"stage.{fam}.{k}": float(getattr(stage, k)) for k in STAGE_COSTS
           if getattr(stage, k) is not None}
    out.update({key(f"stage.{fam}.metric.{k}"): float(v) for k, v in stage.metrics.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)})
    return out


def curves(record: RunRecord) -> list[tuple[str, float, int]]:
    """Training curves as (metric, value, step): each model's history per epoch, and the
    losses a Trainer logged (``trainer.loss``, ``trainer.eval_loss``, ...) per global step."""
    out = []
    for m in record.models:
        for e in m.training.history:
            for name in ("train_loss", "dev_score", "lr"):
                value = getattr(e, name)
                if isinstance(value, (int, float)):
                    out.append((key(f"{m.name}.{name}"), float(value), int(e.epoch)))
    for stage in record.stages:
        for entry in stage.metrics.get("log") or []:
            step = entry.get("step")
            out += [(key(f"trainer.{k}"), float(v), int(step)) for k, v in entry.items()
                    if k not in ("step", "epoch") and isinstance(step, int)
                    and isinstance(v, (int, float)) and not isinstance(v, bool)]
    return out


def model_metrics(record: RunRecord) -> dict[str, float]:
    """Each model's dev and test scores with their interval bounds, and its efficiency."""
    out: dict[str, float] = {}
    for m in record.models:
        for split, scores in (("dev", m.dev), ("test", m.test)):
            for name, s in scores.items():
                if not isinstance(s, dict) or not isinstance(s.get("value"), (int, float)):
                    continue
                out[key(f"{m.name}.{split}.{name}")] = float(s["value"])
                for bound in ("low", "high"):
                    if isinstance(s.get(bound), (int, float)):
                        out[key(f"{m.name}.{split}.{name}.{bound}")] = float(s[bound])
        for name, v in m.efficiency.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                out[key(f"{m.name}.{name}")] = float(v)
        if m.params_total:
            out[key(f"{m.name}.params_total")] = float(m.params_total)
    out.update({key(f"total.{k}"): float(v) for k, v in record.totals().items() if v is not None})
    return out


def tags(record: RunRecord) -> dict[str, str]:
    """What the record is, where it came from, how each stage family's energy was obtained
    and which stage each step of a family's metrics is."""
    out = {"greennlp.run_id": record.run_id, "greennlp.task": str(record.config.get("task")),
           "greennlp.status": record.status,
           "greennlp.dataset": str(record.config.get("data", {}).get("source")
                                   or record.data.get("source")),
           "mlflow.source.type": "LOCAL", "mlflow.source.name": record.command[:5000] or "greennlp"}
    for name, tag in (("git_commit", "commit"), ("git_branch", "branch")):
        if record.software.get(name):
            out[f"mlflow.source.git.{tag}"] = record.software[name]
    methods: dict[str, set[str]] = {}
    steps: dict[str, list[str]] = {}
    for i, s in enumerate(record.stages):
        if s.energy_method:
            methods.setdefault(family(s.name), set()).add(s.energy_method)
        steps.setdefault(family(s.name), []).append(f"{i}={s.name}")
    out.update({f"stage.{f}.energy_method": " | ".join(sorted(m))[:5000]
                for f, m in methods.items()})
    out.update({f"greennlp.stages.{f}": "; ".join(s)[:5000] for f, s in steps.items()})
    return out


def millis(when: str | None) -> int | None:
    """An ISO time of the record in milliseconds since the epoch (None if absent)."""
    return int(datetime.fromisoformat(when).timestamp() * 1000) if when else None


def stage_table(record: RunRecord) -> list[dict[str, Any]]:
    """Each stage's step, name and cost (the artifact ``stages.json``)."""
    return [{"step": i, "stage": s.name, "status": s.status,
             **{k: getattr(s, k) for k in STAGE_COSTS}, "energy_method": s.energy_method}
            for i, s in enumerate(record.stages)]


def _client(uri: str | None):
    try:
        import mlflow
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise UserError("Logging to MLflow needs the mlflow package; install it with "
                        "`pip install 'greennlp[mlflow]'`.") from None
    # A dead server fails fast instead of retrying for minutes (unless the user set these).
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        return MlflowClient(tracking_uri=uri or mlflow.get_tracking_uri())
    except Exception as exc:  # an unsupported scheme, a malformed URI
        raise _unreachable(uri, exc) from None


_CAUSES = ("Connection refused", "Failed to resolve", "Name or service not known", "timed out",
           "No route to host", "Permission denied", "unable to open database file",
           "unsupported URI")


def _unreachable(uri: str | None, exc: Exception) -> UserError:
    text = str(exc)
    first = next((c for c in _CAUSES if c.lower() in text.lower()), None)
    if first is None:
        first = (text.strip().splitlines() or [type(exc).__name__])[0]
        first = first if len(first) <= 120 else first[:117] + "..."
    return UserError(f"The MLflow tracking store {uri or '(default)'} cannot be reached ({first}); "
                     f"start the server or fix the URI (track.mlflow_uri or --uri).")


class MlflowRun:
    """One MLflow run that a greennlp record is written to, step by step."""

    def __init__(self, uri: str | None, experiment: str = "greennlp",
                 register: str | None = None) -> None:
        self.uri, self.register = uri, register
        self.logged_models: dict[str, str] = {}
        self._now = int(datetime.now().timestamp() * 1000)  # the record's end, once known
        self.client = _client(uri)
        try:
            found = self.client.get_experiment_by_name(experiment)
            exp_id = found.experiment_id if found else self.client.create_experiment(experiment)
        except Exception as exc:  # connection refused, DNS, bad scheme, permissions
            raise _unreachable(uri, exc) from None
        self.experiment_id = exp_id
        self.run_id: str | None = None
        self.logged_stages: set[str] = set()

    def start(self, record: RunRecord) -> str:
        """Create the MLflow run and log the parameters; returns its MLflow run id."""
        from mlflow.entities import Param

        try:
            run = self.client.create_run(self.experiment_id, run_name=record.run_id,
                                         tags=tags(record), start_time=millis(record.created_at))
            self.run_id = run.info.run_id
            items = [Param(k, v) for k, v in params(record).items()]
            for i in range(0, len(items), BATCH):
                self.client.log_batch(self.run_id, params=items[i:i + BATCH])
        except Exception as exc:
            raise _unreachable(self.uri, exc) from None
        return self.run_id

    def log_metrics(self, values: list[tuple[str, float, int]], when: int | None = None) -> None:
        """(name, value, step) triples, stamped ``when`` (ms; default: the record's time)."""
        from mlflow.entities import Metric

        stamp = when or self._now
        items = [Metric(k, v, stamp, step) for k, v, step in values]
        for i in range(0, len(items), 1000):
            self.client.log_batch(self.run_id, metrics=items[i:i + 1000])

    def log_new_stages(self, record: RunRecord) -> None:
        """The metrics of every finished stage not logged yet, by family, at step = the
        stage's position and at the time it started."""
        for i, stage in enumerate(record.stages):
            if stage.name not in self.logged_stages and stage.status == "ok":
                self.log_metrics([(k, v, i) for k, v in stage_metrics(stage).items()],
                                 millis(stage.started_at) or millis(record.created_at))
                self.logged_stages.add(stage.name)

    def finish(self, record: RunRecord) -> None:
        """Curves, model metrics, totals, tags, inputs, models, artifacts, and the run's
        final status at its own end time."""
        self._now = millis(record.finished_at) or millis(record.created_at) or 0
        self.log_new_stages(record)
        self.log_metrics(curves(record) + [(k, v, 0) for k, v in model_metrics(record).items()])
        for k, v in tags(record).items():
            self.client.set_tag(self.run_id, k, v)
        self.client.log_text(self.run_id, json.dumps(stage_table(record), indent=1),
                             "stages.json")
        self.log_models(record)
        folder = Path(record.run_dir)
        for name in ARTIFACTS:
            if (folder / name).exists():
                self.client.log_artifact(self.run_id, str(folder / name))
        status = {"completed": "FINISHED", "failed": "FAILED"}.get(record.status, "KILLED")
        self.client.set_terminated(self.run_id, status, end_time=millis(record.finished_at))

    def log_models(self, record: RunRecord) -> None:
        """The data splits as inputs and the selected model (registered under
        :attr:`register`), through MLflow's fluent API inside this run."""
        from greennlp.integrations import mlflow_models

        with mlflow_models.active(self.uri, self.run_id) as mlflow:
            sizes = mlflow_models.log_inputs(mlflow, record)
            self.logged_models = mlflow_models.log_selected(mlflow, record, self.register)
        for split, rows in sizes.items():
            self.client.set_tag(self.run_id, f"greennlp.data.{split}_rows", str(rows))


def export(record: RunRecord, uri: str | None = None, experiment: str = "greennlp",
           register: str | None = None) -> str:
    """Log a finished (or failed) greennlp run to MLflow, with its selected model
    (registered under ``register`` when given); returns the MLflow run id.

    Raises
    ------
    UserError
        When mlflow is not installed or the tracking store cannot be reached.
    """
    target = MlflowRun(uri, experiment, register)
    run_id = target.start(record)
    try:
        target.finish(record)
    except Exception as exc:
        error = _unreachable(uri, exc)
        if any(c.lower() in str(exc).lower() for c in _CAUSES):
            raise error from None
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise UserError(f"MLflow run {run_id} was created, but logging run {record.run_id} to "
                        f"it failed ({first}); fix the cause and export again.") from None
    return run_id


class LiveLogger:
    """Logs a run to MLflow while it runs (``track.mlflow_uri``): parameters when it
    starts, each stage's cost when the stage ends, scores and artifacts at the end.

    Connecting is the run's first step, so an unreachable store fails the run at once
    (one sentence, recorded as failed). Later failures never stop the run: logging
    stops, the run's notes say so, and ``greennlp export RUN_ID --to mlflow`` redoes it.
    """

    def __init__(self, uri: str, experiment: str = "greennlp", register: str | None = None
                 ) -> None:
        self.uri, self.experiment, self.register = uri, experiment, register
        self.target: MlflowRun | None = None
        self.stopped = False

    def connect(self, run: Any) -> None:
        """A step of the run: open the MLflow run and follow the record from now on."""
        self.target = MlflowRun(self.uri, self.experiment, self.register)
        self.target.start(run.record)
        run.record.note(f"Logged to MLflow {self.uri}, experiment {self.experiment}, "
                        f"run {self.target.run_id}.")
        run.listeners.append(self._guard(self.target.log_new_stages, run.record))

    def finish(self, record: RunRecord) -> None:
        """After the run (and its reports): scores, artifacts, status. Never raises."""
        if self.target is not None and self.target.run_id is not None:
            self._guard(self.target.finish, record)(record)

    def _guard(self, fn, record: RunRecord):
        def call(rec: RunRecord) -> None:
            if self.stopped:
                return
            try:
                fn(rec)
            except Exception as exc:  # the run goes on; the record says what was not logged
                self.stopped = True
                record.note(f"MLflow logging stopped ({type(exc).__name__}: "
                            f"{str(exc)[:120]}); log the run later with `greennlp export "
                            f"{record.run_id} --to mlflow`.")
        return call
