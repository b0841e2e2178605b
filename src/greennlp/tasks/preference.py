"""Preference tuning (``task: preference``): DPO for a pretrained decoder, with one of
greennlp's own classifiers as the judge (the controlled-sentiment task of Rafailov et al.
2023, section 6.1, offline).

Stages: ``data`` (the classification data, split as for classification), ``prompts`` (the
first ``preference.prompt_words`` words of texts: train prompts make the pairs, dev prompts
select, held-out test prompts score), ``judge`` (a classifier trained here, or the
selected classifier of a classification run), ``pairs`` (k reference samples per train
prompt; the judge's best and worst make a pair; the reference's log-probabilities of both),
``evaluate:<model>`` (the reference as is and best-of-n), ``train:<policy>`` and
``evaluate:<policy>`` per beta (DPO, full or LoRA), ``compare`` (cost at equal work) and
``report``. The stages are in :mod:`greennlp.tasks.preference_stages` and
:mod:`greennlp.tasks.preference_eval`.
"""

from __future__ import annotations

from typing import Any, Callable

from greennlp.config import RunConfig
from greennlp.config.preference import TRAIN_JUDGE
from greennlp.errors import UserError
from greennlp.models import family, names
from greennlp.models.families import CLASSIFICATION, LM
from greennlp.record import RunRecord
from greennlp.report import Reports
from greennlp.run import Run
from greennlp.tasks import Task, register_task
from greennlp.tasks.common import check_choice, report_stage

NAME = "preference"
SELECTION_METRIC = "win_rate"


def decoders() -> list[str]:
    """The families a preference run can tune: pretrained decoders that write text and can
    be trained further."""
    return names(LM, adaptable=True, writes_text=True)


def check(cfg: RunConfig) -> None:
    """Every check of a preference config that needs the family table or other runs."""
    from greennlp.models import lora

    p = cfg.preference
    check_choice("preference.model", p.model, decoders())
    why = family(p.model).available()
    if why:
        raise UserError(f"preference.model={p.model} cannot run here: {why}.")
    if p.lora and lora.missing():
        raise UserError(f"preference.lora=true: {lora.missing()}; install it or set "
                        f"preference.lora=false.")
    if p.judge == TRAIN_JUDGE:
        check_choice("preference.judge_family", p.judge_family, names(CLASSIFICATION))
        why = family(p.judge_family).available()
        if why:
            raise UserError(f"preference.judge_family={p.judge_family} cannot run here: {why}.")
        return
    from greennlp.tasks.preference_judge import check_target, judge_run

    _, chosen = judge_run(p.judge, cfg.output_dir, CLASSIFICATION)
    check_target(p.target, chosen.labels, f"the judge ({chosen.name} of run {p.judge})")


def stages() -> tuple[Callable[[Run], None], ...]:
    """The recipe (imported when a run starts: the stages import torch)."""
    from greennlp.tasks import preference_eval as e
    from greennlp.tasks import preference_stages as s
    from greennlp.tasks.preference_judge import stage_judge

    return (s.stage_data, s.stage_prompts, stage_judge, s.stage_pairs, e.stage_reference,
            e.stage_policies, e.stage_compare, report_stage(reports))


def reports() -> Reports:
    """The model card, datasheet (the pairs) and report section of a preference run."""
    from greennlp.report import preference_card, preference_html, task_reports

    return task_reports("preference", preference_card.card_context,
                        preference_card.datasheet_context, preference_html.render_section)


def selection(run: Run | None = None) -> dict[str, Any]:
    """The policy with the highest dev win rate against the reference (the reference itself
    is a candidate: a policy that does not beat it is not selected)."""
    return {"metric": SELECTION_METRIC, "higher_is_better": True,
            "reason": "highest dev win rate against the reference model, by the judge"}


def _evaluate(run: Run, result, model, full: bool = True) -> tuple[dict, dict]:
    from greennlp.tasks.preference_eval import evaluate_policy

    return evaluate_policy(run, result, model)


def summary(record: RunRecord) -> list[Any]:
    """The console summary: one line per model, then the cost comparison."""
    from greennlp.report.preference_views import summary_lines

    return summary_lines(record)


def _prepare(run: Run):
    from greennlp.data import prepare

    return prepare(run.cfg.data, run.cfg.seed)


TASK = register_task(Task(
    name=NAME, stages=stages, reports=reports, summary=summary, prepare=_prepare,
    selection=selection, evaluate=_evaluate, check=check,
    # idle OpenMP threads sleep: decoder steps on a busy 2-core machine (see tasks/lm.py)
    passive_openmp=True))
