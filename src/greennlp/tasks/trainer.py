"""Runs recorded from a user's own Hugging Face ``Trainer`` by
:class:`greennlp.integrations.hf.GreenNLPCallback`: greennlp reports them (``greennlp
report``, ``greennlp runs``, ``greennlp export``) but does not run them."""

from __future__ import annotations

from typing import Any

from greennlp.record import RunRecord
from greennlp.report import trainer_reports
from greennlp.tasks import Task, register_task


def summary(record: RunRecord) -> list[Any]:
    from greennlp.report.trainer_card import stage_rows

    return [f"{r['stage']}: {r['duration_s']:.2f} s, {r['method']}" for r in stage_rows(record)]


TASK = register_task(Task(
    name="trainer", stages=lambda: (), reports=trainer_reports, summary=summary,
    refuses_runs="task=trainer is recorded inside your own Trainer script by "
                 "greennlp.integrations.hf.GreenNLPCallback, so `greennlp run` cannot run or "
                 "resume it: run your script again to record a new run, or use "
                 "task=classification or task=lm."))
