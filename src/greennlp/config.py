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
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from greennlp.errors import UserError

# yaml, tomllib and importlib.resources are imported where files are read: together they
# cost ~30 ms, which would count against measurement start-up (target: under 100 ms).


def rule(default: Any, *, choices: tuple | None = None, low: float | None = None,
         high: float | None = None, doc: str = "") -> Any:
    """A dataclass field with declared choices or bounds (inclusive)."""
    meta = {"choices": choices, "low": low, "high": high, "doc": doc}
    if isinstance(default, (list, dict)) or dataclasses.is_dataclass(default):
        return field(default_factory=lambda: default, metadata=meta)
    return field(default=default, metadata=meta)


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
    train: TrainConfig = rule(TrainConfig(epochs=2, lr=5e-5, patience=1))


@dataclass(frozen=True)
class EvaluateConfig:
    """Confidence intervals and efficiency measurement."""

    bootstrap_samples: int = rule(1000, low=100)
    confidence: float = rule(0.95, low=0.5, high=0.999)
    latency_examples: int = rule(64, low=4, doc="batch-1 calls timed per repeat")
    throughput_batches: int = rule(8, low=1, doc="batches of 32 timed per repeat")
    repeats: int = rule(5, low=1)


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
    evaluate: EvaluateConfig = rule(EvaluateConfig())
    measure: MeasureConfig = rule(MeasureConfig())
    # Built lazily: config_lm builds on rule and TrainConfig above (see the end of the file).
    lm: config_lm.LmConfig = field(default_factory=lambda: config_lm.LmConfig(),
                                   metadata={"doc": "language modelling (task: lm)"})


MODEL_NAMES = ("tfidf_logreg", "transformer", "minilm", "transformer_mlm")


def to_dict(cfg: Any) -> dict:
    """A plain, JSON-serialisable dict of a config dataclass."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def from_dict(cls: type, data: Mapping[str, Any], prefix: str = "") -> Any:
    """Build config dataclass ``cls`` from a nested mapping, checking every key and type."""
    if not isinstance(data, Mapping):
        where = f"'{prefix.rstrip('.')}'" if prefix else "the config file"
        raise UserError(f"Config section {where} must be a mapping of keys to values.")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in known:
            raise UserError(f"Unknown config key '{prefix}{key}'; valid keys there are: "
                            f"{', '.join(known)}.")
    kwargs = {}
    for name, f in known.items():
        if name in data:
            value = _coerce(hints[name], data[name], prefix + name)
            _check_rule(f, value, prefix + name)
            kwargs[name] = value
    return cls(**kwargs)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _coerce(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, key + ".")
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, key)
            except UserError as exc:
                errors.append(exc)
        raise errors[0]
    if origin is tuple:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise UserError(f"Config key '{key}' must be a list, got {value!r}; "
                            f"write it as {key}=[a,b].")
        return tuple(_coerce(typing.get_args(tp)[0], v, key) for v in value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    ok = isinstance(value, tp) and not (tp is int and isinstance(value, bool))
    if not ok:
        raise UserError(f"Config key '{key}' must be {_type_name(tp)}, got {value!r}; "
                        f"set it like {key}={_example(tp)}.")
    return value


def _example(tp: Any) -> str:
    return {int: "3", float: "0.5", bool: "true", str: "text"}.get(tp, "...")


def _check_rule(f: dataclasses.Field, value: Any, key: str) -> None:
    meta = f.metadata
    if not meta or value is None:
        return
    if meta.get("choices") and value not in meta["choices"]:
        raise UserError(f"Config key '{key}' is {value!r}; choose one of: "
                        f"{', '.join(map(str, meta['choices']))}.")
    low, high = meta.get("low"), meta.get("high")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise UserError(f"Config key '{key}' is {value}; it must be {bounds}.")


def _read_file(path: Path) -> dict:
    import tomllib

    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"Config file {path} is not UTF-8 text; save it as UTF-8.") from None
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        first = str(exc).splitlines()[0]
        raise UserError(f"Config file {path} cannot be parsed ({first}); fix its syntax.") from None
    return data or {}


def profiles() -> list[str]:
    """Names of the built-in config profiles shipped with greennlp."""
    from importlib import resources

    folder = resources.files("greennlp") / "configs"
    return sorted(p.name.rsplit(".", 1)[0] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _read_source(source: str) -> dict:
    path = Path(source)
    if path.suffix in (".yaml", ".yml", ".toml", ".json"):
        if not path.is_file():
            raise UserError(f"Config file {source} does not exist; check the path.")
        return _read_file(path)
    if source in profiles():
        import yaml
        from importlib import resources

        text = (resources.files("greennlp") / "configs" / f"{source}.yaml").read_text()
        return yaml.safe_load(text) or {}
    raise UserError(f"Config '{source}' is neither a .yaml/.toml/.json file nor a built-in "
                    f"profile; use a file path or one of: {', '.join(profiles())}.")


def _set_dotted(data: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise UserError(f"Override '{dotted}' goes inside '{part}', which is not a section.")
        node = child
    node[parts[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``key.sub=value``; the value is read as YAML (so 3, 0.5, true, [a,b] work)."""
    import yaml

    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise UserError(f"Override '{text}' is not of the form key=value; write e.g. seed=1.")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


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
    data = _read_source(source) if source else {}
    for text in overrides:
        key, value = parse_override(text)
        _set_dotted(data, key, value)
    cfg = from_dict(RunConfig, data)
    unknown = [m for m in cfg.models if m not in MODEL_NAMES]
    if unknown:
        raise UserError(f"Unknown model name '{unknown[0]}' in 'models'; choose from: "
                        f"{', '.join(MODEL_NAMES)}.")
    if not cfg.models:
        raise UserError("Config key 'models' is empty; list at least one of: "
                        f"{', '.join(MODEL_NAMES)}.")
    if cfg.task == "lm":
        config_lm.check_lm(cfg.lm)
    if cfg.data.dev_fraction + cfg.data.test_fraction >= 0.9:
        raise UserError("data.dev_fraction + data.test_fraction must leave at least 10% "
                        "for training; lower one of them.")
    return cfg


def replace(cfg: Any, **changes: Any) -> Any:
    """``dataclasses.replace`` re-exported, for frozen configs."""
    return dataclasses.replace(cfg, **changes)


# At the end, and as a plain module import, so that either module can be imported first.
import greennlp.config_lm as config_lm  # noqa: E402
