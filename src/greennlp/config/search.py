"""Search and seed settings: spaces with declared bounds, method, executor, budgets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from greennlp.config.rules import rule
from greennlp.errors import UserError

DISTRIBUTIONS = ("uniform", "loguniform", "int", "choice")


@dataclass(frozen=True)
class ParamSpec:
    """One searched hyperparameter: a distribution with explicit bounds or values.

    ``uniform`` / ``loguniform`` sample floats in [low, high]; ``int`` samples integers
    in [low, high] (inclusive); ``choice`` picks one of ``values``. Grid search uses
    ``values`` for choices and ``grid_points`` evenly (log-evenly) spaced points otherwise.
    """

    dist: str = rule("choice", choices=DISTRIBUTIONS)
    low: float | None = None
    high: float | None = None
    values: tuple[Any, ...] = ()
    grid_points: int = rule(3, low=2, high=20)


@dataclass(frozen=True)
class FamilySearch:
    """How one model family is searched."""

    trials: int = rule(8, low=1, high=1000)
    max_epochs: int | None = rule(None, low=1, doc="trial budget; default: the family's epochs")
    space: dict[str, ParamSpec] = rule({}, doc="parameter name (e.g. C, lr, hidden_size, "
                                              "seed) -> distribution")


@dataclass(frozen=True)
class AshaConfig:
    """Asynchronous successive halving (Li et al. 2020): rungs at min_epochs x eta^k."""

    min_epochs: int = rule(1, low=1)
    reduction_factor: int = rule(3, low=2, high=10)


DEFAULT_FAMILIES = {
    "tfidf_logreg": FamilySearch(trials=12, space={
        "C": ParamSpec(dist="loguniform", low=0.1, high=100.0),
        "ngram_max": ParamSpec(dist="int", low=1, high=3),
        "min_df": ParamSpec(dist="int", low=1, high=3),
    }),
    "transformer": FamilySearch(trials=6, max_epochs=2, space={
        "lr": ParamSpec(dist="loguniform", low=3e-4, high=3e-3),
        "hidden_size": ParamSpec(dist="choice", values=(64, 128)),
        "num_layers": ParamSpec(dist="int", low=1, high=2),
        "dropout": ParamSpec(dist="uniform", low=0.0, high=0.3),
        "seed": ParamSpec(dist="int", low=0, high=9999),
    }),
}


@dataclass(frozen=True)
class SearchConfig:
    """Hyperparameter search before the final models are trained."""

    enabled: bool = True
    method: str = rule("random", choices=("random", "grid", "asha"),
                       doc="asha applies to iterative families; others run each trial fully")
    executor: str = rule("local", choices=("local", "ray"))
    ray_address: str | None = rule(None, doc="an existing Ray cluster; default: start one locally")
    ray_cpus_per_trial: float = rule(1.0, low=0.1)
    asha: AshaConfig = rule(AshaConfig())
    families: dict[str, FamilySearch] = rule(DEFAULT_FAMILIES)


@dataclass(frozen=True)
class SeedsConfig:
    """The final configuration of each listed family, retrained with several seeds."""

    count: int = rule(5, low=1, high=100)
    models: tuple[str, ...] = ("tfidf_logreg", "transformer")
    strategy: str = rule("all", choices=("all", "early_stopped"),
                         doc="all = every seed trained to the end; early_stopped = every seed "
                             "scored on dev after seeds.score_after of its epochs, only the "
                             "best seeds.keep continue (Dodge et al. 2020; families trained by "
                             "epochs; the stopped seeds' cost stays in the record)")
    score_after: float = rule(0.25, low=0.01, high=0.99,
                              doc="early_stopped: share of a seed's training (its optimizer "
                                  "steps) after which all seeds are scored on dev; it may fall "
                                  "inside an epoch (0.125 of 4 epochs = half the first)")
    keep: int = rule(3, low=1, doc="early_stopped: seeds continued to the end (the best on dev "
                                   "when scored; the run's own final model is trained anyway)")

    def check(self, prefix: str) -> None:
        """Cross-field rules (called when the section is built)."""
        if self.strategy == "early_stopped" and self.keep >= self.count:
            raise UserError(f"{prefix}keep ({self.keep}) must be below {prefix}count "
                            f"({self.count}) for the early_stopped strategy; lower "
                            f"{prefix}keep or set {prefix}strategy=all.")
