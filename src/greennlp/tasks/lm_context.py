"""What the LM stages share: the view of the run they work in (:class:`LmContext`), the
follower run of a torchrun rank > 0, the dev and test texts every model is scored on,
and the CPU time of worker processes added to a stage's energy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from greennlp.evaluate.lm_eval import dev_and_subsample, scored_test_texts
from greennlp.record import RunRecord, StageResult
from greennlp.run import Run

T = TypeVar("T")


class FollowerRun(Run):
    """A torchrun rank other than 0: trains with the others, measures and writes nothing."""

    def persist(self, record: RunRecord | None = None) -> None:
        return None

    def stage(self, name: str, work: Callable[[StageResult], T],
              reload: Callable[[StageResult], T] | None = None) -> T | None:
        done = self.record.stage(name)
        if done is not None:
            return reload(done) if reload else None
        return work(StageResult(name))


@dataclass
class LmContext:
    """A view of the run for the LM stages: the lm settings, the rank, the run folder."""

    run: Run

    @property
    def cfg(self):
        return self.run.cfg.lm

    @property
    def follower(self) -> bool:
        return isinstance(self.run, FollowerRun)

    def path(self, *parts: str) -> Path:
        return Path(self.run.record.run_dir).joinpath(*parts)


def dev_texts(ctx: LmContext) -> tuple[list[str], np.ndarray]:
    """Dev texts for scores during training, and the part of test SmolLM2 is scored on."""
    return dev_and_subsample(ctx.run.splits, ctx.cfg, ctx.run.cfg.seed)


def scored_test(ctx: LmContext, test: list[str]) -> list[str]:
    """The test documents every model is scored on (``lm.test_documents`` of them)."""
    return scored_test_texts(test, ctx.cfg, ctx.run.cfg.seed)


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
    cpu.update(worker_cpu_s=round(cpu_s, 3),
               kwh=(cpu.get("kwh") or 0.0) + extra_kwh / run.footprint.pue)
    st.energy_method = st.energy_method.replace("cpu: estimate:tdp",
                                                "cpu: estimate:tdp (incl. worker processes)")
    run.persist()
