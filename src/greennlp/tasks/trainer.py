"""Runs recorded from a user's own Hugging Face ``Trainer`` by
:class:`greennlp.integrations.hf.GreenNLPCallback`: greennlp reports them (``greennlp
report``, ``greennlp runs``, ``greennlp export``) but does not run them."""

from __future__ import annotations

from typing import Any, Callable

from greennlp.config import RunConfig
from greennlp.errors import UserError
from greennlp.record import RunRecord
from greennlp.report import Reports, trainer_reports
from greennlp.run import Run

TASK = "trainer"
PASSIVE_OPENMP = False


def stages() -> tuple[Callable[[Run], None], ...]:
    return ()


def check(cfg: RunConfig) -> None:
    raise UserError("task=trainer is recorded inside your own Trainer script by "
                    "greennlp.integrations.hf.GreenNLPCallback; `greennlp run` cannot run it: "
                    "use task=classification or task=lm.")


def reports() -> Reports:
    return trainer_reports()


def summary(record: RunRecord) -> list[Any]:
    from greennlp.report.trainer_card import stage_rows

    return [f"{r['stage']}: {r['duration_s']:.2f} s, {r['method']}" for r in stage_rows(record)]


def join(cfg: RunConfig, record: RunRecord | None = None) -> Run | None:
    return None
