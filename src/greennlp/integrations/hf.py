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
"""

from __future__ import annotations

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

    # -- stages ---------------------------------------------------------------------------
    def _persist(self, record: RunRecord) -> None:
        record.save()
        store.upsert(self.output_dir, record)

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
        self._persist(self.record)

    def on_epoch_begin(self, args, state, control, **kwargs):
        self._epoch, self._part, self._in_epoch = self._epoch + 1, 0, True
        self._begin_epoch_part()

    def on_step_end(self, args, state, control, **kwargs):
        self._steps += 1
        if control.should_evaluate:  # a mid-epoch evaluation follows this step
            self._begin(f"evaluate:step{state.global_step}")

    def on_epoch_end(self, args, state, control, **kwargs):
        self._in_epoch = False
        if self._stage is not None and self._stage.name.startswith("train:"):
            self._stage.metrics["global_step"] = state.global_step
        self._end()
        if control.should_evaluate:
            self._begin(f"evaluate:epoch{self._epoch}")

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self._stage is not None and logs:
            history = self._stage.metrics.setdefault("log", [])
            history.append({"step": state.global_step, **{k: _plain(v) for k, v in logs.items()}})

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if self._stage is None or not self._stage.name.startswith("evaluate:"):
            return  # an evaluation outside train(), or one whose start was not seen
        self._stage.metrics.update({k: _plain(v) for k, v in (metrics or {}).items()})
        self._stage.metrics["global_step"] = state.global_step
        self._end()
        if self._in_epoch:
            self._begin_epoch_part()

    def on_train_end(self, args, state, control, **kwargs):
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
