"""The language-modelling run (``task: lm``): corpus -> tokenizer -> models -> scaling.

The same Run / stage / record / report machinery as classification. Stages: ``data``
(the corpus, split by blocks), ``tokenizer`` (byte-level BPE on train, shared by the
n-gram, LSTM, GPT and masked-LM models), ``benchmark:matmul`` (this machine's fp32
matmul peak, for model FLOPs utilisation), ``train:<model>`` / ``evaluate:<model>``
(``load:smollm2`` for the pretrained model, which is not trained), ``scaling`` (a small
decoder sweep) and ``report``.

Data parallel: under ``torchrun --nproc_per_node=N greennlp run task=lm`` every rank
runs this module; rank 0 owns the run (record, files, evaluation, report) and the other
ranks join only the training of the torch models. With ``lm.executor=ray`` those
trainings run on Ray Train workers instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from greennlp.config import RunConfig
from greennlp.pipeline import Run
from greennlp.record import ModelResult, RunRecord
from greennlp.train import distributed


class FollowerRun(Run):
    """A torchrun rank other than 0: trains with the others, writes nothing."""

    def persist(self, record: RunRecord | None = None) -> None:
        return None


def follower_run(cfg: RunConfig, record: RunRecord | None = None) -> Run | None:
    """Join torchrun's process group; for ranks > 0 a Run that never writes, else None.

    A fresh run learns its id and folder from rank 0 in :func:`execute_lm`; a resumed
    one reads them (and the finished stages) from the record, like rank 0.
    """
    if not distributed.init_from_env() or distributed.is_main():
        return None
    from greennlp.measure import Footprint

    record = record or RunRecord(run_id=f"(rank {distributed.rank()}: joins rank 0's run)",
                                 run_dir=".")
    return FollowerRun(cfg, record, Footprint.from_config(cfg.measure), log=lambda m: None)


@dataclass
class LmContext:
    """What the stages of one LM run share."""

    run: Run
    splits: Any = None
    tokenizer: Any = None
    models: dict[str, Any] = field(default_factory=dict)

    @property
    def cfg(self):
        return self.run.cfg.lm

    @property
    def follower(self) -> bool:
        return isinstance(self.run, FollowerRun)

    def path(self, *parts: str) -> Path:
        return Path(self.run.record.run_dir).joinpath(*parts)


def add_worker_energy(run: Run, name: str, cpu_s: float) -> None:
    """Add CPU time of worker processes this process cannot see to stage ``name``.

    torchrun's other ranks and Ray's workers are not this process's children, so the
    TDP estimate (CPU-seconds x watts per thread) would miss them. RAPL and NVML read
    the whole machine, so those readings already include them.
    """
    st = run.record.stage(name)
    cpu = st.energy_detail.get("cpu", {}) if st else {}
    if not st or cpu_s <= 0 or cpu.get("method") != "estimate:tdp" or st.energy_kwh is None:
        return
    extra_kwh = cpu["watts_per_thread"] * cpu_s / 3.6e6 * run.footprint.pue
    st.energy_kwh += extra_kwh
    st.co2_kg = run.footprint.co2_kg(st.energy_kwh)
    st.cpu_time_s += cpu_s
    cpu.update(worker_cpu_s=round(cpu_s, 3), kwh=(cpu.get("kwh") or 0.0) + extra_kwh / run.footprint.pue)
    st.energy_method = st.energy_method.replace("cpu: estimate:tdp",
                                                "cpu: estimate:tdp (incl. worker processes)")
    run.persist()


def execute_lm(run: Run) -> RunRecord:
    """Every stage of the LM run; rank 0 returns the completed record."""
    import torch

    from greennlp.measure.hardware import usable_cpus
    from greennlp.pipeline import stage_report
    from greennlp.pipeline_lm_stages import (stage_corpus, stage_model, stage_peak,
                                             stage_scaling, stage_tokenizer)
    from greennlp.train.lm_jobs import ray_cluster

    ctx = LmContext(run)
    if distributed.active():
        torch.set_num_threads(distributed.threads_per_rank(usable_cpus()))
        ids = distributed.broadcast((run.record.run_id, run.record.run_dir))
        run.record.run_id, run.record.run_dir = ids
    with ray_cluster(ctx.cfg.executor == "ray" and not ctx.follower, ctx.cfg.workers):
        stage_corpus(ctx)
        stage_tokenizer(ctx)
        if ctx.cfg.measure_peak and not ctx.follower:
            stage_peak(ctx)
        for name in ctx.cfg.models:
            stage_model(ctx, name)
        if ctx.cfg.scaling.enabled:
            stage_scaling(ctx)
    if ctx.follower:
        raise SystemExit(0)  # a worker rank has nothing to report: rank 0 writes the record
    stage_report(run)
    run.record.status = "completed"
    return run.record


def model_result(ctx: LmContext, name: str, model, accounting: dict | None, info: dict,
                 checkpoint: Path) -> ModelResult:
    """The record entry of a trained (or loaded) model, before evaluation."""
    counts = model.parameter_counts()
    note = ("n-gram entries with a non-zero count; FLOPs: table look-ups, no matmuls"
            if accounting is None else
            "forward matmul FLOPs per document (2 per multiply-add), attention over the "
            "whole sequence as executed, at the mean test document length; per token in "
            "efficiency")
    return ModelResult(name=name, family=name, params_total=counts["total"],
                       params_non_embedding=counts["non_embedding"], flops_note=note,
                       training=info, checkpoint=str(checkpoint), stages=[f"train:{name}"])


def save_nll(ctx: LmContext, name: str, nll: np.ndarray) -> None:
    folder = ctx.path("models", name)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "test_nll.npy", nll)
