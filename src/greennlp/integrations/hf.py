"""A price tag on a user's own ``transformers.Trainer.train()``.

:class:`GreenNLPCallback` records each epoch and each evaluation as a measured stage
(time, CPU time, energy with its method, CO2e, money) into a greennlp run record that
``greennlp report RUN_ID`` renders, ``greennlp runs`` lists and ``greennlp export RUN_ID
--to mlflow`` logs. Usage::

    from greennlp.integrations.hf import GreenNLPCallback
    trainer = Trainer(model, args, train_dataset=..., eval_dataset=...,
                      callbacks=[GreenNLPCallback(output_dir="runs", region="FRA")])
    trainer.train()

How the stages are cut: an epoch stage runs from ``on_epoch_begin`` to ``on_epoch_end``.
An evaluation has no "begin" event, so its stage starts when the Trainer has decided to
evaluate (``control.should_evaluate`` after a step or an epoch, which is all that runs
before the evaluation besides logging) and ends at ``on_evaluate``; an evaluation in the
middle of an epoch ends the epoch's stage, and the epoch goes on as ``train:epochN:partM``,
so no second is counted twice. A ``Trainer.evaluate()`` called outside ``train()`` is not
measured. If ``train()`` raises, the Trainer calls no more callbacks: the record keeps the
stages finished so far and stays ``running``.

With several processes (``torchrun``, Accelerate) only the main process records and logs
(``state.is_world_process_zero``); the others measure nothing. When the Trainer logs to
MLflow (``report_to="mlflow"``), each finished stage's cost goes into the Trainer's own
MLflow run, named by stage family at the Trainer's global step
(``greennlp.train.energy_kwh``, ``greennlp.evaluate.co2_kg``), with the greennlp run id
as a tag.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from enum import Enum
from typing import Any

from transformers import TrainerCallback

from greennlp import store
from greennlp.config import MeasureConfig, from_dict, to_dict
from greennlp.measure import Footprint, track
from greennlp.record import RunRecord, StageResult, utc_now
from greennlp.run import new_record

TASK = "trainer"  # the record's task: its reports are greennlp.report.trainer_card's
ARGS_RECORDED = ("learning_rate", "num_train_epochs", "max_steps", "per_device_train_batch_size",
                 "per_device_eval_batch_size", "gradient_accumulation_steps", "weight_decay",
                 "warmup_steps", "lr_scheduler_type", "seed", "eval_strategy", "eval_steps",
                 "bf16", "fp16", "optim")


class GreenNLPCallback(TrainerCallback):
    """Record a ``Trainer.train()`` as a greennlp run: one measured stage per epoch and
    per evaluation.

    Parameters
    ----------
    output_dir
        Folder of greennlp runs (``greennlp runs --output-dir``).
    name
        The run's name in the registry.
    reports
        Also write report.html, the model card, datasheet and checklist when training
        ends (0.9-5 s on a 2-core CPU, most of it importing matplotlib the first time);
        by default only the record is written, and ``greennlp report RUN_ID`` renders it.
    measure
        Settings of greennlp's ``measure`` section: ``region`` (carbon intensity),
        ``pue``, ``price_per_hour_usd``, ``price_source``, ``cpu_watts_per_thread``.

    Attributes
    ----------
    record : RunRecord or None
        The run record, from ``on_train_begin`` on (``record.run_id``, ``record.stages``).
    """

    def __init__(self, output_dir: str = "runs", name: str = "trainer", reports: bool = False,
                 **measure: Any) -> None:
        self.output_dir, self.name, self.reports = str(output_dir), name, reports
        self.measure = from_dict(MeasureConfig, measure, "measure.")  # bad settings: UserError now
        self.record: RunRecord | None = None
        self._footprint: Footprint | None = None
        self._open: ExitStack | None = None
        self._stage: StageResult | None = None
        self._epoch = 0
        self._part = 0
        self._in_epoch = False
        self._steps = 0
        self._main = True  # the main process of a multi-process training (or the only one)
        self._mlflow: tuple[Any, str] | None = None  # (client, run id) of the Trainer's run
        self._global_step = 0
        self._last_logged: StageResult | None = None

    # -- stages ---------------------------------------------------------------------------
    def _persist(self, record: RunRecord) -> None:
        record.save()
        store.upsert(self.output_dir, record)
        self._log_to_mlflow(record)

    def _log_to_mlflow(self, record: RunRecord) -> None:
        """The last finished stage's cost into the Trainer's MLflow run (never fails the
        training: a failure is noted in the record and logging stops)."""
        if self._mlflow is None or not record.stages or record.stages[-1] is self._last_logged:
            return
        from greennlp.integrations.mlflow import STAGE_COSTS, family

        stage = self._last_logged = record.stages[-1]
        client, run_id = self._mlflow
        values = {f"greennlp.{family(stage.name)}.{k}": float(getattr(stage, k))
                  for k in STAGE_COSTS if getattr(stage, k) is not None}
        try:
            from mlflow.entities import Metric

            now = int(time.time() * 1000)
            client.log_batch(run_id, metrics=[Metric(k, v, now, self._global_step)
                                              for k, v in values.items()])
        except Exception as exc:  # the Trainer's own MLflow logging goes on
            self._mlflow = None
            record.note(f"Logging stage costs to the Trainer's MLflow run stopped "
                        f"({type(exc).__name__}: {str(exc)[:120]}).")

    def _attach_mlflow(self) -> None:
        """The Trainer's active MLflow run (its MLflowCallback started it), if any."""
        import sys

        self._mlflow = None  # a second train() may log elsewhere, or nowhere
        mlflow = sys.modules.get("mlflow")  # only when the Trainer (or the user) uses it
        run = mlflow.active_run() if mlflow is not None else None
        if run is None or self.record is None:
            return
        from mlflow.tracking import MlflowClient

        client = MlflowClient()
        self._mlflow = (client, run.info.run_id)
        client.set_tag(run.info.run_id, "greennlp.run_id", self.record.run_id)
        self.record.note(f"Stage costs logged to the Trainer's MLflow run {run.info.run_id}.")

    def _begin(self, name: str) -> None:
        self._end()
        self._open = ExitStack()
        self._stage = self._open.enter_context(
            track(name, self.record, self._footprint, on_finish=self._persist))
        self._steps = 0

    def _end(self) -> None:
        if self._open is not None:
            if self._stage is not None and self._stage.name.startswith("train:"):
                self._stage.metrics["steps"] = self._steps
            self._open.close()  # the stage is measured, priced, added and saved
        self._open, self._stage = None, None

    def _begin_epoch_part(self) -> None:
        self._part += 1
        suffix = f":part{self._part}" if self._part > 1 else ""
        self._begin(f"train:epoch{self._epoch}{suffix}")

    # -- Trainer events -------------------------------------------------------------------
    def on_train_begin(self, args, state, control, model=None, train_dataloader=None, **kwargs):
        self._main = bool(getattr(state, "is_world_process_zero", True))
        if not self._main:  # another process of a distributed training: it records nothing
            return
        self._epoch, self._part, self._in_epoch = 0, 0, False  # a second train(): a new run
        self._footprint = Footprint.from_config(self.measure)
        config = {"task": TASK, "seed": args.seed, "measure": to_dict(self.measure),
                  "trainer_args": {k: _plain(getattr(args, k, None)) for k in ARGS_RECORDED}}
        self.record = new_record(self.output_dir, dict(config, name=self.name,
                                                       output_dir=self.output_dir),
                                 self._footprint)
        dataset = getattr(train_dataloader, "dataset", None)
        self.record.data = {"source": "the Trainer's train_dataset",
                            "train_rows": len(dataset) if hasattr(dataset, "__len__") else None}
        if model is not None:
            self.record.data["model"] = {
                "class": type(model).__name__,
                "name_or_path": getattr(getattr(model, "config", None), "_name_or_path", None),
                "params_total": int(sum(p.numel() for p in model.parameters())),
                "params_trainable": int(sum(p.numel() for p in model.parameters()
                                            if p.requires_grad))}
        self._attach_mlflow()
        self._persist(self.record)

    def on_epoch_begin(self, args, state, control, **kwargs):
        if not self._main:
            return
        self._epoch, self._part, self._in_epoch = self._epoch + 1, 0, True
        self._begin_epoch_part()

    def on_step_end(self, args, state, control, **kwargs):
        if not self._main:
            return
        self._steps += 1
        self._global_step = state.global_step
        if control.should_evaluate:  # a mid-epoch evaluation follows this step
            self._begin(f"evaluate:step{state.global_step}")

    def on_epoch_end(self, args, state, control, **kwargs):
        if not self._main:
            return
        self._in_epoch = False
        self._global_step = state.global_step
        if self._stage is not None and self._stage.name.startswith("train:"):
            self._stage.metrics["global_step"] = state.global_step
        self._end()
        if control.should_evaluate:
            self._begin(f"evaluate:epoch{self._epoch}")

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self._main and self._stage is not None and logs:
            history = self._stage.metrics.setdefault("log", [])
            history.append({"step": state.global_step, **{k: _plain(v) for k, v in logs.items()}})

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if not self._main or self._stage is None or not self._stage.name.startswith("evaluate:"):
            return  # an evaluation outside train(), or one whose start was not seen
        self._stage.metrics.update({k: _plain(v) for k, v in (metrics or {}).items()})
        self._stage.metrics["global_step"] = state.global_step
        self._end()
        if self._in_epoch:
            self._begin_epoch_part()

    def on_train_end(self, args, state, control, **kwargs):
        if not self._main:
            return
        self._global_step = state.global_step
        self._end()
        if self.record is None:
            return
        self.record.status, self.record.finished_at = "completed", utc_now()
        self.record.data["global_steps"] = state.global_step
        self._persist(self.record)
        if self.reports:
            from greennlp.report import trainer_reports  # matplotlib: imported after training

            trainer_reports().write(self.record)


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a logged value (enums, numpy and torch scalars)."""
    if isinstance(value, Enum):
        return value.value
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(getattr(value, "value", value))
