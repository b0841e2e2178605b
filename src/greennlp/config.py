"""Typed, frozen run configuration.

A run is described by one :class:`RunConfig`, built from (in order) the defaults
below, a YAML / TOML / JSON file or a built-in profile (``quick``), and dotted
``key=value`` overrides from the command line. Unknown keys, wrong types and values
outside their declared bounds are :class:`~greennlp.errors.UserError` s with one
sentence that names the key and the fix.

Bounds and choices are declared next to each field (``rule(...)``) so that there is
exactly one place that says what a parameter may be, and one uniform error message.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from greennlp.config_parse import (from_dict, parse_override, profiles, read_source, rule,
                                   set_dotted, to_dict)
from greennlp.errors import UserError
from greennlp.search.settings import SearchConfig, SeedsConfig

__all__ = ["RunConfig", "from_dict", "load_config", "parse_override", "profiles", "rule",
           "to_dict"]


@dataclass(frozen=True)
class DataConfig:
    """Where the text comes from and how it is split."""

    source: str = rule("rotten_tomatoes", doc="built-in name, a .csv/.jsonl/.parquet path, or hf:NAME")
    text_column: str = "text"
    label_column: str = "label"
    group_column: str | None = rule(None, doc="examples sharing a group never straddle splits")
    time_column: str | None = None
    split: str = rule("auto", choices=("auto", "random", "stratified", "group", "time"),
                      doc="auto = group when a group column is known, else stratified")
    dev_fraction: float = rule(0.1, low=0.01, high=0.5)
    test_fraction: float = rule(0.2, low=0.01, high=0.5)
    max_examples: int | None = rule(None, low=10, doc="stratified subsample before splitting")
    drop_duplicates: bool = True
    drop_conflicts: bool = True
    min_per_class: int = rule(2, low=1, doc="fewest examples of a class each split must get")
    hf_config: str | None = None
    hf_split: str = "train"


@dataclass(frozen=True)
class TfidfConfig:
    """TF-IDF features + logistic regression (scikit-learn)."""

    max_features: int = rule(100_000, low=10)
    ngram_max: int = rule(2, low=1, high=5)
    min_df: int = rule(2, low=1)
    C: float = rule(4.0, low=1e-6)


@dataclass(frozen=True)
class TrainConfig:
    """The one training loop's settings (shared by every torch model)."""

    epochs: int = rule(6, low=1)
    batch_size: int = rule(32, low=1)
    lr: float = rule(1e-3, low=1e-7, high=1.0)
    weight_decay: float = rule(0.01, low=0.0)
    warmup_fraction: float = rule(0.1, low=0.0, high=1.0)
    max_grad_norm: float = rule(1.0, low=0.0)
    patience: int = rule(2, low=1, doc="epochs without dev improvement before stopping")
    grad_accum_steps: int = rule(1, low=1)
    precision: str = rule("auto", choices=("auto", "fp32", "bf16"),
                          doc="auto = bf16 autocast on GPUs that support it, fp32 on CPU")
    max_steps: int | None = rule(None, low=1, doc="stop after this many optimizer steps")


@dataclass(frozen=True)
class TransformerConfig:
    """A BERT-style encoder classifier trained from scratch, with its own tokenizer."""

    vocab_size: int = rule(8000, low=100)
    hidden_size: int = rule(128, low=8)
    num_layers: int = rule(2, low=1, high=48)
    num_heads: int = rule(4, low=1)
    intermediate_size: int = rule(512, low=8)
    max_length: int = rule(64, low=8, high=4096)
    dropout: float = rule(0.1, low=0.0, high=0.9)
    train: TrainConfig = rule(TrainConfig())


@dataclass(frozen=True)
class PretrainedConfig:
    """Fine-tuning the bundled pretrained MiniLM encoder."""

    max_length: int = rule(64, low=8, high=512)
    train: TrainConfig = rule(TrainConfig(epochs=1, lr=5e-5, patience=1),
                              doc="one epoch keeps the default run within 20 minutes on 2 cores; "
                                  "a second took dev accuracy from 0.819 to 0.829")


@dataclass(frozen=True)
class EvaluateConfig:
    """Confidence intervals and efficiency measurement."""

    bootstrap_samples: int = rule(1000, low=100)
    confidence: float = rule(0.95, low=0.5, high=0.999)
    latency_examples: int = rule(64, low=4, doc="batch-1 calls timed per repeat")
    throughput_batches: int = rule(8, low=1, doc="batches of 32 timed per repeat")
    repeats: int = rule(3, low=1, doc="timing repeats; the median is reported")


@dataclass(frozen=True)
class MeasureConfig:
    """How energy becomes CO2e and money."""

    region: str = rule("world", doc="ISO-3 country (FRA), cloud region (gcp:us-central1) or world")
    pue: float = rule(1.0, low=1.0, high=3.0, doc="power usage effectiveness of the facility")
    price_per_hour_usd: float = rule(0.10, low=0.0, doc="price of this hardware per hour")
    price_source: str = "assumed: on-demand 2-vCPU cloud instance, about $0.10/h"
    cpu_watts_per_thread: float | None = rule(None, low=0.1, doc="override the TDP table")


@dataclass(frozen=True)
class RunConfig:
    """Everything one ``greennlp run`` does."""

    name: str = "default"
    seed: int = 0
    output_dir: str = "runs"
    task: str = rule("classification", choices=("classification", "lm"),
                     doc="lm = language modelling (see the lm section)")
    models: tuple[str, ...] = ("tfidf_logreg", "transformer", "minilm")
    data: DataConfig = rule(DataConfig())
    tfidf: TfidfConfig = rule(TfidfConfig())
    transformer: TransformerConfig = rule(TransformerConfig())
    minilm: PretrainedConfig = rule(PretrainedConfig())
    search: SearchConfig = rule(SearchConfig())
    seeds: SeedsConfig = rule(SeedsConfig())
    evaluate: EvaluateConfig = rule(EvaluateConfig())
    measure: MeasureConfig = rule(MeasureConfig())
    # Built lazily: config_lm builds on rule and TrainConfig above (see the end of the file).
    lm: config_lm.LmConfig = field(default_factory=lambda: config_lm.LmConfig(),
                                   metadata={"doc": "language modelling (task: lm)"})
    compress: config_compress.CompressConfig = field(
        default_factory=lambda: config_compress.CompressConfig(),
        metadata={"doc": "compression and the audit of what it forgot"})


MODEL_NAMES = ("tfidf_logreg", "transformer", "minilm", "transformer_mlm")


def load_config(source: str | None = None, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Resolve a run configuration.

    Parameters
    ----------
    source
        A config file (.yaml/.yml/.toml/.json), a built-in profile name, or None for
        the defaults.
    overrides
        Dotted ``key=value`` strings applied last, e.g. ``transformer.train.epochs=2``.

    Returns
    -------
    RunConfig
        The frozen, validated configuration.
    """
    data = read_source(source) if source else {}
    for text in overrides:
        key, value = parse_override(text)
        set_dotted(data, key, value)
    cfg = from_dict(RunConfig, data, merge=True)
    unknown = [m for m in cfg.models if m not in MODEL_NAMES]
    if unknown:
        raise UserError(f"Unknown model name '{unknown[0]}' in 'models'; choose from: "
                        f"{', '.join(MODEL_NAMES)}.")
    if not cfg.models:
        raise UserError("Config key 'models' is empty; list at least one of: "
                        f"{', '.join(MODEL_NAMES)}.")
    if cfg.task == "lm":
        config_lm.check_lm(cfg.lm)
    _check_search_families(cfg)
    if cfg.data.dev_fraction + cfg.data.test_fraction >= 0.9:
        raise UserError("data.dev_fraction + data.test_fraction must leave at least 10% "
                        "for training; lower one of them.")
    return cfg


SEARCHABLE = ("tfidf_logreg", "transformer", "minilm")


def _check_search_families(cfg: RunConfig) -> None:
    for key, names in (("search.families", cfg.search.families), ("seeds.models", cfg.seeds.models)):
        bad = [n for n in names if n not in SEARCHABLE]
        if bad:
            raise UserError(f"'{bad[0]}' in {key} cannot be searched or reseeded; use "
                            f"{', '.join(SEARCHABLE)}.")


def replace(cfg: Any, **changes: Any) -> Any:
    """``dataclasses.replace`` re-exported, for frozen configs."""
    return dataclasses.replace(cfg, **changes)


# At the end, and as a plain module import, so that either module can be imported first.
import greennlp.config_compress as config_compress  # noqa: E402
import greennlp.config_lm as config_lm  # noqa: E402
