"""The ``compress.frontier`` section: the compression plan searched on dev under a budget
(``greennlp compress RUN_ID --plan frontier``, or ``compress.plan=frontier``)."""

from __future__ import annotations

from dataclasses import dataclass

from greennlp.config.rules import rule
from greennlp.config.sections import TrainConfig
from greennlp.errors import UserError

RUNTIMES = ("torch", "onnx-fp32", "onnx-int8-dynamic", "onnx-int8-static", "openvino-fp32",
            "openvino-int8")
LOSSES = ("hidden", "attention")
AUGMENTATIONS = ("in_domain", "replace")


@dataclass(frozen=True)
class FrontierConfig:
    """Structured pruning x distillation x runtime, searched on dev.

    Every shape (layers x heads x FFN width) is pruned from the reference by importance
    and distilled; every runtime of every student is scored and timed on dev; the dev
    Pareto set (accuracy against measured throughput) goes to test, once.
    """

    layers: tuple[int, ...] = rule((6, 4, 3), doc="student depths to try (capped at the "
                                                   "teacher's); on the default data, keeping "
                                                   "depth and pruning width kept accuracy best")
    heads: tuple[float, ...] = rule((0.5,), doc="share of each layer's heads kept")
    ffn: tuple[float, ...] = rule((0.5, 0.25), doc="share of the FFN width kept")
    layer_choice: str = rule("importance", choices=("importance", "even"),
                             doc="keep the most important layers, or evenly spaced ones")
    runtimes: tuple[str, ...] = rule(RUNTIMES, doc="runtimes to try for each student "
                                                   "(those not installed are skipped)")
    losses: tuple[str, ...] = rule(("hidden",), doc="intermediate distillation losses")
    hidden_weight: float = rule(1.0, low=0.0)
    attention_weight: float = rule(1.0, low=0.0)
    augment: tuple[str, ...] = rule(AUGMENTATIONS, doc="in_domain: the dataset's unlabelled "
                                                       "text of training groups, when it has "
                                                       "any; replace: word replacement")
    replace_copies: int = rule(1, low=0, high=20, doc="word-replacement variants per text")
    max_augmented: int = rule(20000, low=0, doc="most augmented texts per student")
    trim_vocabulary: bool = rule(True, doc="keep only the tokens the training and augmented "
                                           "texts use (WordPiece vocabularies)")
    trim_max_drop_points: float = rule(0.1, low=0.0, high=100.0,
                                       doc="dev accuracy points the trimmed vocabulary may lose; "
                                           "beyond that the whole vocabulary is kept")
    temperature: float = rule(2.0, low=0.1, high=100.0)
    alpha: float = rule(0.9, low=0.0, high=1.0, doc="weight of the soft-label loss")
    importance_examples: int = rule(2048, low=32, doc="training examples that score heads, "
                                                      "neurons and layers")
    min_agreement: float = rule(0.97, low=0.0, high=1.0, doc="least dev agreement of a runtime "
                                                             "with its torch student")
    timing_rounds: int = rule(5, low=1, doc="alternating rounds when timing candidates")
    budget_minutes: float = rule(0.0, low=0.0, doc="stop training new students after this "
                                                   "wall time (0: no limit)")
    max_test: int = rule(4, low=1, doc="most variants of the dev Pareto set scored on test")
    train: TrainConfig = rule(TrainConfig(epochs=4, lr=2e-4, patience=2, min_steps=0))

    def check(self, prefix: str) -> None:
        """Cross-field rules (called when the section is built)."""
        for key, values, allowed in (("runtimes", self.runtimes, RUNTIMES),
                                     ("losses", self.losses, LOSSES),
                                     ("augment", self.augment, AUGMENTATIONS)):
            bad = [v for v in values if v not in allowed]
            if bad:
                raise UserError(f"Config key '{prefix}{key}' has {bad[0]!r}; choose from: "
                                f"{', '.join(allowed)}.")
        for key, shares in (("heads", self.heads), ("ffn", self.ffn)):
            if not shares or any(not 0.0 < s <= 1.0 for s in shares):
                raise UserError(f"Config key '{prefix}{key}' must hold shares in (0, 1], "
                                f"e.g. [1.0,0.5].")
        if not self.layers or min(self.layers) < 1:
            raise UserError(f"Config key '{prefix}layers' must hold layer counts of at least "
                            f"1, e.g. [3,2].")
