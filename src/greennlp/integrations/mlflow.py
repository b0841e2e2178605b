"""A greennlp run in an MLflow tracking store: as it runs (``track.mlflow_uri``) or
afterwards (``greennlp export RUN_ID --to mlflow``).

What is logged, read from the run record:

* parameters: the resolved configuration, flattened (``data.source``, ``tfidf.C``, ...);
* metrics: each model's dev and test scores with their interval bounds
  (``test.accuracy``, ``test.accuracy.low``, ``test.accuracy.high``, prefixed by the
  model); each stage's ``duration_s``, ``cpu_time_s``, ``energy_kwh``, ``co2_kg`` and
  ``cost_usd`` (``stage.train:transformer.energy_kwh``) and its own numeric metrics
  (``stage.evaluate:epoch1.metric.eval_loss``); the run's totals;
* tags: the greennlp run id, task, status, and each stage's energy method;
* artifacts: report.html, MODEL_CARD.md, DATASHEET.md, CHECKLIST.md and record.json.

MLflow is an optional extra (``pip install 'greennlp[mlflow]'``); it is imported here only.
"""

from __future__ import annotations

import os
import re
import time
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


def stage_metrics(stage: StageResult) -> dict[str, float]:
    """A stage's time, energy, CO2e and money (what is unknown is left out), and its own
    numeric metrics as ``stage.<name>.metric.<metric>`` (e.g. a Trainer's ``eval_loss``)."""
    out = {key(f"stage.{stage.name}.{k}"): float(getattr(stage, k)) for k in STAGE_COSTS
           if getattr(stage, k) is not None}
    out.update({key(f"stage.{stage.name}.metric.{k}"): float(v) for k, v in stage.metrics.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)})
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
    """What the record is, and how each stage's energy was obtained."""
    out = {"greennlp.run_id": record.run_id, "greennlp.task": str(record.config.get("task")),
           "greennlp.status": record.status,
           "greennlp.dataset": str(record.config.get("data", {}).get("source")
                                   or record.data.get("source"))}
    out.update({key(f"stage.{s.name}.energy_method"): s.energy_method[:5000]
                for s in record.stages if s.energy_method})
    return out


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

    def __init__(self, uri: str | None, experiment: str = "greennlp") -> None:
        self.uri = uri
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
                                         tags=tags(record))
            self.run_id = run.info.run_id
            items = [Param(k, v) for k, v in params(record).items()]
            for i in range(0, len(items), BATCH):
                self.client.log_batch(self.run_id, params=items[i:i + BATCH])
        except Exception as exc:
            raise _unreachable(self.uri, exc) from None
        return self.run_id

    def log_metrics(self, values: dict[str, float], step: int = 0) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(k, v, now, step) for k, v in values.items()]
        for i in range(0, len(items), 1000):
            self.client.log_batch(self.run_id, metrics=items[i:i + 1000])

    def log_new_stages(self, record: RunRecord) -> None:
        """The metrics of every finished stage not logged yet (step = its position)."""
        for i, stage in enumerate(record.stages):
            if stage.name not in self.logged_stages and stage.status == "ok":
                self.log_metrics(stage_metrics(stage), step=i)
                self.logged_stages.add(stage.name)

    def finish(self, record: RunRecord) -> None:
        """Model metrics, totals, tags, artifacts, and the run's final status."""
        self.log_new_stages(record)
        self.log_metrics(model_metrics(record))
        for k, v in tags(record).items():
            self.client.set_tag(self.run_id, k, v)
        folder = Path(record.run_dir)
        for name in ARTIFACTS:
            if (folder / name).exists():
                self.client.log_artifact(self.run_id, str(folder / name))
        status = {"completed": "FINISHED", "failed": "FAILED"}.get(record.status, "KILLED")
        self.client.set_terminated(self.run_id, status)


def export(record: RunRecord, uri: str | None = None, experiment: str = "greennlp") -> str:
    """Log a finished (or failed) greennlp run to MLflow; returns the MLflow run id.

    Raises
    ------
    UserError
        When mlflow is not installed or the tracking store cannot be reached.
    """
    target = MlflowRun(uri, experiment)
    run_id = target.start(record)
    try:
        target.finish(record)
    except Exception as exc:
        raise _unreachable(uri, exc) from None
    return run_id


class LiveLogger:
    """Logs a run to MLflow while it runs (``track.mlflow_uri``): parameters when it
    starts, each stage's cost when the stage ends, scores and artifacts at the end.

    Connecting is the run's first step, so an unreachable store fails the run at once
    (one sentence, recorded as failed). Later failures never stop the run: logging
    stops, the run's notes say so, and ``greennlp export RUN_ID --to mlflow`` redoes it.
    """

    def __init__(self, uri: str, experiment: str = "greennlp") -> None:
        self.uri, self.experiment = uri, experiment
        self.target: MlflowRun | None = None
        self.stopped = False

    def connect(self, run: Any) -> None:
        """A step of the run: open the MLflow run and follow the record from now on."""
        self.target = MlflowRun(self.uri, self.experiment)
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
