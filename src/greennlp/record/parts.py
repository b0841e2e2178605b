"""The typed sections of a run record: training, search, seeds, compression, comparisons.

Field names are the JSON keys of the record, so a record written by an earlier greennlp
loads into these classes as it is (see :mod:`greennlp.record.migrate` for the few
changes). Facts that differ between model families or compressors go into a ``rest``
field (``extra`` / ``facts``) instead of a field each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from greennlp.record.schema import rest_field

Scores = dict[str, dict[str, float]]  # metric -> {"value", "low", "high"}


@dataclass
class Epoch:
    """One entry of a training history: after an epoch (or a log-spaced segment)."""

    epoch: int = 0
    train_loss: float | None = None
    dev_score: float | None = None  # higher is better (accuracy, or minus the dev loss)
    lr: float | None = None
    duration_s: float = 0.0
    steps: int = 0


@dataclass
class Training:
    """How a model came to be: trained here, taken from a search trial, or loaded."""

    seed: int | None = None
    epochs_run: int | None = None
    steps: int | None = None
    best_epoch: int | None = None
    best_dev_accuracy: float | None = None
    best_dev_loss: float | None = None
    stopped_early: bool | None = None
    finished: bool | None = None
    resumed_from_epoch: int | None = None
    history: list[Epoch] = field(default_factory=list)
    selected_trial: int | None = None  # searched families: the trial the model is
    params: dict[str, Any] | None = None
    search_method: str | None = None
    tokens_trained: int | None = None  # language models
    tokens_per_s: float | None = None
    mfu: float | None = None
    compute_optimality: dict[str, Any] | None = None
    accounting: dict[str, Any] | None = None
    seconds_per_step: float | None = None  # wall seconds per optimizer step (dev left out)
    finetune: dict[str, Any] | None = None  # pretrained families: method, trainable and total
    # parameters, stored_bytes (what must be stored per task; the adapter alone)
    extra: dict[str, Any] = rest_field()  # family-specific facts (features, pretraining, ...)


@dataclass
class TrialState:
    """One trial of a search: its point, how far it got, and what it scored."""

    trial_id: int
    params: dict[str, Any]
    seed: int
    epochs_done: int = 0
    finished: bool = False
    score: float | None = None
    rung_scores: dict[str, float] = field(default_factory=dict)  # epochs (as text) -> dev score
    closed: bool = False  # stopped for good by an external scheduler (Ray's ASHA)

    @property
    def started(self) -> bool:
        return self.epochs_done > 0 or self.finished


@dataclass
class Savings:
    """What early stopping saved, estimated from each stopped trial's cost per epoch."""

    trials_stopped_early: int = 0
    duration_s: float | None = 0.0
    cpu_time_s: float | None = 0.0
    energy_kwh: float | None = 0.0
    co2_kg: float | None = 0.0
    cost_usd: float | None = 0.0
    method: str = ""


@dataclass
class SearchState:
    """The search of one model family; saved after every stretch of every trial."""

    family: str
    method: str  # random | grid | asha
    executor: str
    space: dict[str, dict[str, Any]]
    max_epochs: int
    rungs: list[int]
    reduction_factor: int
    selection: str
    status: str = "running"
    trials: list[TrialState] = field(default_factory=list)
    best_trial: int | None = None
    best_params: dict[str, Any] | None = None
    best_score: float | None = None
    best_checkpoint: str | None = None
    early_stopping_saved: Savings | None = None
    totals: dict[str, float | None] = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        return self.status == "completed"


@dataclass
class SeedRow:
    """One seed of a family's final configuration, scored on dev and test."""

    seed: int
    dev_accuracy: float
    test_accuracy: float
    dev_macro_f1: float
    test_macro_f1: float
    stage: str = ""
    epochs_run: int | None = None
    checkpoint: str = ""
    early_dev_accuracy: float | None = None  # early_stopped: dev when every seed was scored
    dev_by_epoch: list[float] = field(default_factory=list)  # best-so-far dev after each epoch


@dataclass
class StoppedSeed:
    """A seed the early-stopped strategy scored on dev and stopped (never tested)."""

    seed: int
    dev_accuracy: float
    epochs_run: float  # epochs trained when stopped (a fraction where it paused inside one)
    stage: str = ""


@dataclass
class SeedStats:
    """Mean, sample standard deviation, min and max of one score over seeds."""

    mean: float
    std: float
    min: float
    max: float
    n: int


@dataclass
class SeedRuns:
    """Seed variance of one family."""

    seeds: list[int] = field(default_factory=list)
    per_seed: list[SeedRow] = field(default_factory=list)
    summary: dict[str, SeedStats] = field(default_factory=dict)
    note: str = ""
    strategy: str = "all"  # all | early_stopped (Dodge et al. 2020)
    epochs: int | None = None  # early_stopped: the full budget of a seed ...
    scored_after_epochs: float | None = None  # ... when every seed was scored on dev
    keep: int | None = None  # ... and how many continued to the end
    stopped: list[StoppedSeed] = field(default_factory=list)
    cost: dict[str, float | None] = field(default_factory=dict)  # measured, every seed: stage
    all_to_end_cost: dict[str, float | None] = field(default_factory=dict)  # estimate


@dataclass
class Fidelity:
    """How closely a variant follows the model it was made from (dev)."""

    agreement: float
    max_abs_diff: float
    mean_abs_diff: float


@dataclass
class PairedTiming:
    """A variant timed side by side with its dense reference (median of per-round ratios)."""

    reference: str
    throughput_speedup: float
    latency_speedup: float
    rounds: int


@dataclass
class ExitPoint:
    """One threshold of an early-exit curve."""

    threshold: float
    dev_accuracy: float
    dev_mean_exit_layer: float
    test_accuracy: float
    test_mean_exit_layer: float
    test_exit_share: dict[str, float]
    latency_ms_b1: float
    throughput_b32: float
    chosen: bool = False


@dataclass
class VariantInfo:
    """What compression did to a variant: the method, fidelity, paired timing, curve."""

    method: str = ""
    fidelity_dev: Fidelity | None = None
    paired_timing: PairedTiming | None = None
    curve: list[ExitPoint] = field(default_factory=list)
    facts: dict[str, Any] = rest_field()  # the compressor's settings and findings

    def get(self, key: str, default: Any = None) -> Any:
        """A compressor fact (``sparsity``, ``backend``, ...)."""
        return self.facts.get(key, default)


@dataclass
class PieClass:
    """Per class: support, PIEs, recall of both populations' modal predictions."""

    label: str
    support: int
    pies: int
    dense_recall: float | None
    compressed_recall: float | None
    recall_change: float | None


@dataclass
class PieExample:
    """One pruning-identified exemplar."""

    index: int
    text: str | None
    true: str
    dense: str
    compressed: str
    dense_votes: float
    compressed_votes: float


@dataclass
class PieAudit:
    """The audit of what pruning forgot (Hooker et al. 2019)."""

    count: int
    examples_total: int
    fraction: float
    dense_members: int
    compressed_members: int
    accuracy: dict[str, float | None]  # dense / compressed, on PIEs / the rest / all
    per_class: list[PieClass] = field(default_factory=list)
    examples: list[PieExample] = field(default_factory=list)
    model: str = ""
    sparsity: float | None = None
    seeds: list[int | None] = field(default_factory=list)
    dense_sources: list[str] = field(default_factory=list)
    dense_test_accuracy: list[float] = field(default_factory=list)
    compressed_test_accuracy: list[float] = field(default_factory=list)
    compressed_sparsity: list[float | None] = field(default_factory=list)
    compressed_sources: list[str] = field(default_factory=list)
    test_evaluations: int = 0
    probabilities: str = ""
    note: str = ""


@dataclass
class CompressionAudit:
    """Run-level compression facts: the dense reference and the PIE audit."""

    reference: str | None = None
    pie: PieAudit | None = None


@dataclass
class Comparison:
    """A paired comparison of two models on the same test examples."""

    a: str
    b: str
    run_a: str
    run_b: str
    n: int
    accuracy_a: float
    accuracy_b: float
    bootstrap: dict[str, float]
    mcnemar: dict[str, Any]
