"""The ``compress`` section of a run configuration: compression and the PIE audit.

:class:`~greennlp.config.RunConfig` holds one :class:`CompressConfig` as ``compress``.
Which models each setting may name (the compressible families) is checked against
the table of model families when the configuration is loaded
(:func:`greennlp.tasks.load_config`).
"""

from __future__ import annotations

from dataclasses import dataclass

from greennlp.config.frontier import FrontierConfig
from greennlp.config.rules import rule
from greennlp.config.sections import TrainConfig
from greennlp.errors import UserError

COMPRESS_METHODS = ("quantize", "distill", "early_exit", "prune", "pie")
QUANT_BACKENDS = ("torch", "onnx")
PLANS = ("default", "frontier")
STUDENT = "student"  # compress.early_exit.model: the distilled student


def _check_choices(key: str, values: tuple, allowed: tuple) -> None:
    bad = [v for v in values if v not in allowed]
    if bad:
        raise UserError(f"Config key '{key}' has {bad[0]!r}; choose from: {', '.join(allowed)}.")


@dataclass(frozen=True)
class PruneConfig:
    """Magnitude pruning of a model's encoder weights (Zhu & Gupta 2017 when gradual)."""

    model: str = rule("transformer", doc="the model to prune (a compressible family)")
    sparsities: tuple[float, ...] = (0.5, 0.9)
    schedule: str = rule("one_shot", choices=("one_shot", "gradual"))
    scope: str = rule("global", choices=("global", "per_layer"))
    random_baseline: bool = rule(True, doc="also prune at random to the highest sparsity")
    every: int = rule(10, low=1, doc="gradual: optimizer steps between mask updates")
    train: TrainConfig = rule(TrainConfig(epochs=1, lr=5e-4, patience=1))

    def check(self, prefix: str) -> None:
        """Cross-field rules (called when the section is built)."""
        if any(not 0.0 < s < 1.0 for s in self.sparsities):
            raise UserError(f"Config key '{prefix}sparsities' must hold fractions strictly "
                            "between 0 and 1, e.g. [0.5,0.9].")


@dataclass(frozen=True)
class QuantizeConfig:
    """Dynamic int8: PyTorch, and ONNX Runtime after graph fusion."""

    backends: tuple[str, ...] = QUANT_BACKENDS

    def check(self, prefix: str) -> None:
        """Cross-field rules (called when the section is built)."""
        _check_choices(f"{prefix}backends", self.backends, QUANT_BACKENDS)


@dataclass(frozen=True)
class DistillConfig:
    """A smaller student trained on the reference model's soft labels and the true labels."""

    layers: int = rule(3, low=1, high=48)
    hidden_size: int | None = rule(None, low=8, doc="None: the teacher's (and start from it)")
    temperature: float = rule(2.0, low=0.1, high=100.0)
    alpha: float = rule(0.5, low=0.0, high=1.0, doc="weight of the soft-label loss")
    train: TrainConfig = rule(TrainConfig(epochs=1, lr=3e-4, patience=1))


@dataclass(frozen=True)
class EarlyExitConfig:
    """Exits after chosen layers, trained jointly, calibrated on dev, one threshold."""

    model: str = rule(STUDENT, doc="student = the distilled model, or a compressible family")
    exit_layers: tuple[int, ...] = ()
    thresholds: tuple[float, ...] = (0.6, 0.7, 0.8, 0.9)
    train: TrainConfig = rule(TrainConfig(epochs=1, lr=1e-4, patience=1, max_steps=100))


@dataclass(frozen=True)
class PieConfig:
    """Pruning-identified exemplars: dense vs pruned populations over seeds."""

    model: str = rule("transformer", doc="a compressible, seeded family; the run's seed "
                                         "replicas of it are reused (seeds.count)")
    seeds: int = rule(3, low=1, high=50, doc="members per population; odd avoids tied votes")
    sparsity: float = rule(0.9, low=0.01, high=0.99)
    checkpoints: tuple[str, ...] = rule((), doc="already trained dense seed replicas to reuse")
    finetune: TrainConfig = rule(TrainConfig(epochs=1, lr=5e-4, patience=1))


@dataclass(frozen=True)
class CompressConfig:
    """What ``greennlp compress`` (and the compression stages of a run) do."""

    methods: tuple[str, ...] = COMPRESS_METHODS
    plan: str = rule("default", choices=PLANS,
                     doc="default: the methods above; frontier: also the searched frontier "
                         "(compress.frontier), which takes much longer")
    reference: str = rule("minilm", doc="the dense reference (a compressible family); if not "
                                        "trained, the best encoder on dev")
    max_drop_points: float = rule(1.0, low=0.0, high=100.0,
                                  doc="accuracy a variant may lose and still count as good")
    # 1 s, not 2: in two default runs the estimates moved by 0.83-1.14x, as much as the
    # same models' throughput did between those runs (0.83-1.11x); 2 s cost 11 models 11 s.
    energy_seconds: float = rule(1.0, low=0.0, doc="least wall time of each energy-per-1M "
                                                   "examples measurement")
    skip_failed: bool = rule(True, doc="skip compressing (and auditing) a model that failed its "
                                       "sanity check on dev: one class for nearly all inputs, or "
                                       "no better than the majority-class baseline")
    prune: PruneConfig = rule(PruneConfig())
    quantize: QuantizeConfig = rule(QuantizeConfig())
    distill: DistillConfig = rule(DistillConfig())
    early_exit: EarlyExitConfig = rule(EarlyExitConfig())
    pie: PieConfig = rule(PieConfig())
    frontier: FrontierConfig = rule(FrontierConfig())

    def check(self, prefix: str) -> None:
        """Cross-field rules (called when the section is built)."""
        _check_choices(f"{prefix}methods", self.methods, COMPRESS_METHODS)
