"""Language modelling (``task: lm``): corpus -> tokenizer -> matmul peak -> each model ->
scaling sweep -> report.

Stages: ``data`` (the corpus, split by blocks), ``tokenizer`` (byte-level BPE on train,
shared by the n-gram, LSTM, GPT and masked-LM models), ``benchmark:matmul`` (this
machine's fp32 matmul peak, for model FLOPs utilisation), ``train:<model>`` /
``evaluate:<model>`` (``load:<model>`` for a pretrained model, which is not trained;
``train:<name>_adapted`` / ``evaluate:<name>_adapted`` for an adaptable pretrained family
such as SmolLM2 trained further on the corpus, :mod:`greennlp.tasks.lm_adapt`), ``scaling`` (a small decoder sweep) and
``report``. Every model is scored on the same running text (:mod:`greennlp.evaluate.lm_eval`). How each model is made is read
from its family's ``training`` in the family table.

Data parallel: under ``torchrun --nproc_per_node=N greennlp run task=lm`` every rank
runs this recipe; rank 0 owns the run (record, files, evaluation, report) and the other
ranks (:class:`~greennlp.tasks.lm_context.FollowerRun`) join only the training of the torch models. With
``lm.executor=ray`` those trainings run on Ray Train workers instead.
"""

from __future__ import annotations

from typing import Any, Callable

from greennlp.config import RunConfig
from greennlp.measure import Footprint
from greennlp.errors import UserError
from greennlp.models import family, names
from greennlp.record import RunRecord
from greennlp.report import lm_reports
from greennlp.run import Run
from greennlp.tasks import Task, register_task
from greennlp.tasks.common import check_listed, report_stage
from greennlp.train import distributed

NAME = "lm"


def join(cfg: RunConfig, record: RunRecord | None = None) -> Run | None:
    """Join torchrun's process group; for ranks > 0 a run that never writes, else None.

    A fresh run learns its id and folder from rank 0 in the first stage; a resumed one
    reads them (and the finished stages) from the record, like rank 0.
    """
    if not distributed.init_from_env() or distributed.is_main():
        return None
    from greennlp.tasks.lm_context import FollowerRun

    record = record or RunRecord(run_id=f"(rank {distributed.rank()}: joins rank 0's run)",
                                 run_dir=".")
    return FollowerRun(cfg, record, Footprint.from_config(cfg.measure), log=lambda m: None)


def check(cfg: RunConfig) -> None:
    """Every check of an LM config that needs the table of model families."""
    check_listed("lm.models", cfg.lm.models, names(NAME), "language model")
    sweepable = [n for n in names(NAME, training="blocks") if not family(n).masked]
    if cfg.lm.language_sweep.alphas and cfg.lm.language_sweep.model not in sweepable:
        raise UserError(f"Config key 'lm.language_sweep.model' is "
                        f"{cfg.lm.language_sweep.model!r}; choose one of: {', '.join(sweepable)}.")


def summary(record: RunRecord) -> list[Any]:
    """The console summary: one line per model."""
    from greennlp.report.lm_views import summary_lines

    return summary_lines(record)


def stages() -> tuple[Callable[[Run], None], ...]:
    """The recipe (imported when a run starts: the stages import torch)."""
    from greennlp.tasks import lm_stages as s
    from greennlp.tasks.audit_stages import audit_stage
    from greennlp.tasks.lm_clean_test import stage_clean_test

    return (s.share_run, s.stage_corpus, audit_stage(labelled=False, spans=True),
            s.stage_tokenizer, s.stage_peak, s.stage_models, s.followers_done,
            stage_clean_test, report_stage(lm_reports))


def audit() -> tuple[Callable[[Run], None], ...]:
    """What ``greennlp audit`` runs on a corpus: the data stage and the audit with shared spans."""
    from greennlp.tasks import lm_stages as s
    from greennlp.tasks.audit_stages import audit_stage

    return (s.stage_corpus, audit_stage(labelled=False, spans=True))


def _prepare(run: Run) -> tuple[Any, dict[str, Any]]:
    from greennlp.tasks.lm_stages import prepare_data

    return prepare_data(run)


def _selection(run: Run) -> dict:
    from greennlp.tasks.lm_stages import selection

    return selection()


def _evaluate(run: Run, result, model) -> tuple[dict, dict]:
    from greennlp.tasks.lm_stages import evaluate

    return evaluate(run, result, model)


TASK = register_task(Task(
    name=NAME, stages=stages, reports=lm_reports, summary=summary, audit=audit,
    prepare=_prepare, selection=_selection, evaluate=_evaluate, check=check, join=join,
    # The corpus, laid under the user's data section (a data.* key the user sets wins).
    defaults={"data": {"source": "movie_dialogs", "split": "blocks", "test_fraction": 0.1}},
    # Idle OpenMP threads sleep (set before torch loads): decoder steps were 1.9x faster on
    # a busy 2-core machine (benchmarks/omp_wait_policy.py).
    passive_openmp=True))
