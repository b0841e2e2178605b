"""The run record: the single source of truth that every report is generated from.

A :class:`RunRecord` holds the resolved config, the hardware and software, the seeds,
one :class:`StageResult` per finished stage and one :class:`ModelResult` per model,
and the typed sections of :mod:`greennlp.record.parts` (search, seed runs, compression,
comparisons). It is written to ``runs/<run_id>/record.json`` after every stage
(atomically), so a crash loses at most the stage that was running. Records carry a
``schema_version``; older ones are upgraded when read (:mod:`greennlp.record.migrate`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from greennlp.record.migrate import AUDIT, SCHEMA_VERSION, migrate
from greennlp.record.parts import (Comparison, CompressionAudit, Epoch, ExitPoint, Fidelity,
                                   PairedTiming, PieAudit, PieClass, PieExample, Savings, Scores,
                                   SearchState, SeedRow, SeedRuns, SeedStats, StoppedSeed,
                                   Training, TrialState, VariantInfo)
from greennlp.record.paths import convert_paths, inside, under
from greennlp.record.schema import build, to_json

__all__ = ["AUDIT", "SCHEMA_VERSION", "Comparison", "CompressionAudit", "Epoch", "ExitPoint", "Fidelity",
           "ModelResult", "PairedTiming", "PieAudit", "PieClass", "PieExample", "RunRecord",
           "Savings", "SearchState", "SeedRow", "SeedRuns", "SeedStats", "StageResult", "StoppedSeed",
           "Training", "TrialState", "VariantInfo", "build", "new_run_id", "to_json", "utc_now"]


def utc_now() -> str:
    """The current time as an ISO-8601 UTC string (seconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_run_id() -> str:
    """A sortable, collision-resistant run id, e.g. ``20261122-185301-3fa2``."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + os.urandom(2).hex()


@dataclass
class StageResult:
    """What one stage did and what it cost.

    Units live in the names. ``energy_kwh`` is None when no reading or estimate was
    possible; ``energy_method`` then says why. ``metrics`` are the stage's own facts.
    """

    name: str
    status: str = "ok"
    started_at: str = ""
    duration_s: float = 0.0
    cpu_time_s: float = 0.0
    energy_kwh: float | None = None
    energy_method: str = ""
    energy_detail: dict[str, Any] = field(default_factory=dict)
    co2_kg: float | None = None
    cost_usd: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    error: str | None = None


@dataclass
class ModelResult:
    """One trained (or compressed) model: size, compute, quality and speed."""

    name: str
    family: str
    params_total: int = 0
    params_non_embedding: int = 0
    flops_per_example: float = 0.0
    flops_note: str = ""
    dev: Scores = field(default_factory=dict)
    test: Scores = field(default_factory=dict)
    confusion_matrix: list[list[int]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    efficiency: dict[str, Any] = field(default_factory=dict)  # latency, throughput, size, ...
    training: Training = field(default_factory=Training)
    checkpoint: str = ""
    stages: list[str] = field(default_factory=list)
    variant_of: str | None = None  # the model a compressed variant was made from
    compression: VariantInfo | None = None  # what compression did (variants only)
    sanity: dict[str, Any] = field(default_factory=dict)  # dev / test: one-class, majority
    analysis: dict[str, Any] = field(default_factory=dict)  # calibration, selective, slices,
    #                                                          robustness (greennlp.evaluate)


@dataclass
class RunRecord:
    """Everything known about one run; persisted as JSON after each stage.

    ``config`` is the resolved :class:`greennlp.config.RunConfig` as a mapping
    (``greennlp.config.from_dict`` rebuilds it); ``hardware``, ``software``,
    ``footprint`` and ``data`` are descriptions written by the measure and data
    packages. ``tested`` lists every model, seed replica and audit member (``audit:``)
    scored on test, and ``test_evaluations`` counts every pass over the test split.
    """

    run_id: str
    run_dir: str
    schema_version: int = SCHEMA_VERSION
    created_at: str = field(default_factory=utc_now)
    finished_at: str | None = None
    status: str = "running"
    error: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    command: str = ""
    hardware: dict[str, Any] = field(default_factory=dict)
    software: dict[str, str] = field(default_factory=dict)
    seeds: dict[str, int] = field(default_factory=dict)
    footprint: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    stages: list[StageResult] = field(default_factory=list)
    models: list[ModelResult] = field(default_factory=list)
    test_evaluations: int = 0
    tested: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    search: dict[str, SearchState] = field(default_factory=dict)
    seed_runs: dict[str, SeedRuns] = field(default_factory=dict)
    comparisons: list[Comparison] = field(default_factory=list)
    compression: CompressionAudit = field(default_factory=CompressionAudit)
    selection: dict[str, Any] = field(default_factory=dict)  # metric, reason, label profile
    baselines: dict[str, Scores] = field(default_factory=dict)  # majority / stratified on test

    # -- lookup ---------------------------------------------------------------
    def stage(self, name: str) -> StageResult | None:
        """The finished stage called ``name``, or None."""
        return next((s for s in self.stages if s.name == name and s.status == "ok"), None)

    def any_stage(self, name: str) -> StageResult | None:
        """The stage called ``name`` whatever its status (e.g. a trial paused by ASHA)."""
        return next((s for s in self.stages if s.name == name), None)

    def model(self, name: str) -> ModelResult | None:
        """The model called ``name``, or None."""
        return next((m for m in self.models if m.name == name), None)

    def searched(self, family: str) -> SearchState | None:
        """The completed search of ``family``, or None."""
        state = self.search.get(family)
        return state if state is not None and state.completed else None

    def add_stage(self, result: StageResult) -> None:
        """Append a stage, replacing an earlier failed attempt of the same name."""
        self.stages = [s for s in self.stages if s.name != result.name] + [result]

    def add_model(self, result: ModelResult) -> None:
        """Add or replace the model called ``result.name``."""
        self.models = [m for m in self.models if m.name != result.name] + [result]

    def note(self, text: str) -> bool:
        """Add a note once; True if it is new."""
        if text in self.notes:
            return False
        self.notes.append(text)
        return True

    @property
    def audit_test_evaluations(self) -> int:
        """Test passes beyond one per model: audits (early-exit curves, PIE populations)."""
        return sum(1 for key in self.tested if key.startswith(AUDIT))

    def totals(self) -> dict[str, float | None]:
        """Summed duration, energy, CO2e and cost over all stages (None if any is unknown)."""
        out: dict[str, float | None] = {}
        for key in ("duration_s", "cpu_time_s", "energy_kwh", "co2_kg", "cost_usd"):
            values = [getattr(s, key) for s in self.stages]
            out[key] = None if any(v is None for v in values) else float(sum(values))
        return out

    @property
    def selection_metric(self) -> str:
        """The dev metric that selects models (``record.selection``, written by the task)."""
        return self.selection.get("metric", "accuracy")

    @property
    def higher_is_better(self) -> bool:
        """The direction of :attr:`selection_metric` (perplexity: lower is better)."""
        return bool(self.selection.get("higher_is_better", True))

    def select(self) -> ModelResult | None:
        """The model the run selected: the best *dev* score of the selection metric, in its
        direction (selection never looks at test).

        Every reader of "the selected model" asks this (the registry, the report and the
        cards, ``load_model``, export, compression and comparisons). The task writes the
        metric and its direction into ``selection`` (:meth:`greennlp.tasks.Task.selection`).
        Models without a dev score of that metric (e.g. a language model with its own
        tokenizer) are not candidates, nor are compressed variants: the report weighs those
        against the model they came from (accuracy drop against speed-up) instead.
        """
        metric = self.selection_metric
        scored = [m for m in self.models if metric in m.dev and not m.variant_of]
        pick = max if self.higher_is_better else min
        return pick(scored, key=lambda m: m.dev[metric]["value"], default=None)

    # -- persistence ----------------------------------------------------------
    @property
    def path(self) -> Path:
        return Path(self.run_dir) / "record.json"

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON types; paths inside the run folder are written relative
        to it (:mod:`greennlp.record.paths`), so the folder can move."""
        return convert_paths(to_json(self), inside(self.run_dir))

    def save(self) -> Path:
        """Write ``record.json`` atomically (temp file + rename; the temp file is removed
        when the write fails)."""
        from greennlp.files import write_text

        return write_text(self.path, json.dumps(self.to_dict(), indent=2))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunRecord":
        """A record from its JSON mapping, upgraded to the current schema first; its
        run-relative paths are joined to its ``run_dir``."""
        data = migrate(data)
        return build(cls, convert_paths(data, under(data.get("run_dir", ""))))

    @classmethod
    def load(cls, path: str | Path) -> "RunRecord":
        """Read a record from ``record.json`` or from its run directory."""
        path = Path(path)
        if path.is_dir():
            path = path / "record.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):  # runs stay readable after the folder moves
            data["run_dir"] = str(path.parent)
        return cls.from_dict(data)
