"""Typed, frozen run configuration: every setting of greennlp, declared one way.

A run is described by one :class:`RunConfig`, built from (in order) the defaults, the
defaults its task declares (e.g. the LM corpus as ``data``), a YAML / TOML / JSON file
or a built-in profile (``quick``), and dotted ``key=value`` overrides from the command
line. Unknown keys, wrong types and values outside their
declared bounds are :class:`~greennlp.errors.UserError` s with one sentence that names
the key and the fix.

Bounds and choices are declared next to each field (:func:`rule`); rules that tie
several fields of a section together are the section's ``check(prefix)`` method, which
:func:`from_dict` calls as soon as the section is built. Checks that need the table of
model families or tasks (which live above this package) are made by
:func:`greennlp.tasks.load_config`, which ``greennlp run`` and ``greennlp config`` share.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from greennlp.config.audit import AuditConfig
from greennlp.config.compress import CompressConfig
from greennlp.config.history import refuse_moved, upgrade
from greennlp.config.lm import LmConfig
from greennlp.config.preference import PreferenceConfig
from greennlp.config.rules import (declare_section, declared_sections, deep_merge, from_dict,
                                   parse_override, profiles, read_source, rule, set_dotted,
                                   to_dict)
from greennlp.config.search import SearchConfig, SeedsConfig
from greennlp.config.sections import (DataConfig, EvaluateConfig, MeasureConfig,
                                      PeftPretrainedConfig, PretrainedConfig,
                                      PretrainedEncoderConfig, TfidfConfig, TrackConfig,
                                      TrainConfig, TrainingDataConfig, TransformerConfig)

__all__ = ["AuditConfig", "CompressConfig", "DataConfig", "EvaluateConfig", "LmConfig",
           "MeasureConfig", "PreferenceConfig", "PretrainedConfig", "PretrainedEncoderConfig",
           "RunConfig", "SearchConfig", "SeedsConfig", "TfidfConfig", "TrackConfig",
           "TrainConfig", "TrainingDataConfig", "TransformerConfig", "build_config", "config_from_record",
           "declare_section", "from_dict", "parse_config", "parse_override", "profiles",
           "read_config", "replace", "rule", "section", "to_dict"]


@dataclass(frozen=True)
class RunConfig:
    """Everything one ``greennlp run`` does."""

    name: str = "default"
    seed: int = rule(0, low=0, high=2**32 - 1, doc="seeds Python, NumPy, torch, the splits")
    output_dir: str = "runs"
    task: str = rule("classification", doc="classification, lm = language modelling (see the "
                                            "lm section; its corpus is data) or preference = "
                                            "preference tuning of a decoder (see the "
                                            "preference section)")
    models: tuple[str, ...] = rule(("tfidf_logreg", "transformer", "minilm"),
                                   doc="model families to train (classification)")
    data: DataConfig = rule(DataConfig())
    tfidf: TfidfConfig = rule(TfidfConfig())
    transformer: TransformerConfig = rule(TransformerConfig())
    minilm: PretrainedConfig = rule(PretrainedConfig())
    minilm_peft: PeftPretrainedConfig = rule(PeftPretrainedConfig(),
                                             doc="MiniLM fine-tuned parameter-efficiently "
                                                 "(family minilm_peft; default LoRA), beside "
                                                 "minilm in one run")
    pretrained: PretrainedEncoderConfig = rule(PretrainedEncoderConfig(),
                                               doc="any Hugging Face encoder (family pretrained)")
    train: TrainingDataConfig = rule(TrainingDataConfig(),
                                     doc="training on less data (classification)")
    search: SearchConfig = rule(SearchConfig())
    seeds: SeedsConfig = rule(SeedsConfig())
    evaluate: EvaluateConfig = rule(EvaluateConfig())
    measure: MeasureConfig = rule(MeasureConfig())
    lm: LmConfig = rule(LmConfig(), doc="language modelling (task: lm)")
    compress: CompressConfig = rule(CompressConfig(),
                                    doc="compression and the audit of what it forgot")
    track: TrackConfig = rule(TrackConfig(), doc="experiment trackers (MLflow) written as it runs")
    audit: AuditConfig = rule(AuditConfig(), doc="data audit: near-duplicates, contamination, "
                                                 "training dynamics")
    preference: PreferenceConfig = rule(PreferenceConfig(), doc="preference tuning with DPO "
                                                                "(task: preference)")
    # the sections of model families registered with their settings (greennlp.models.register)
    declared: dict[str, Any] = dataclasses.field(default_factory=declared_sections,
                                                 metadata={"declared": True}, compare=False)


def read_config(source: str | None = None, overrides: list[str] | tuple[str, ...] = ()
                ) -> dict[str, Any]:
    """A config file (or profile) with dotted ``key=value`` overrides applied, as a nested
    mapping, not yet checked."""
    data = read_source(source) if source else {}
    for text in overrides:
        key, value = parse_override(text)
        set_dotted(data, key, value)
    return data


def build_config(data: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
                 ) -> RunConfig:
    """Check ``data`` (user input) and build the frozen config, with ``defaults`` (a task's
    own, a nested mapping) laid under it."""
    refuse_moved(data)
    return from_dict(RunConfig, deep_merge(dict(defaults or {}), data), merge=True)


def config_from_record(recorded: Mapping[str, Any]) -> RunConfig:
    """The config a run record holds (resolved, possibly written by an earlier greennlp:
    :func:`greennlp.config.history.upgrade`), read back as it is."""
    return from_dict(RunConfig, upgrade(recorded))


def parse_config(source: str | None = None, overrides: list[str] | tuple[str, ...] = (),
                 defaults: Mapping[str, Any] | None = None) -> RunConfig:
    """Read, merge and check a run configuration (every check that needs no model table).

    Parameters
    ----------
    source
        A config file (.yaml/.yml/.toml/.json), a built-in profile name, or None for
        the defaults.
    overrides
        Dotted ``key=value`` strings applied last, e.g. ``transformer.train.epochs=2``.
    defaults
        A task's own defaults (a nested mapping), laid under the file and overrides.

    Returns
    -------
    RunConfig
        The frozen configuration. :func:`greennlp.tasks.load_config` adds the task's
        defaults and the checks that need the tables of tasks and model families.
    """
    return build_config(read_config(source, overrides), defaults)


def section(cfg: Any, path: str | None) -> Any:
    """The config section at dotted ``path``, e.g. ``section(cfg, "lm.gpt")`` (None for a
    family without settings)."""
    if path is None:
        return None
    for part in path.split("."):
        declared = cfg.declared if isinstance(cfg, RunConfig) else {}
        cfg = declared[part] if part in declared else getattr(cfg, part)
    return cfg


def replace(cfg: Any, **changes: Any) -> Any:
    """``dataclasses.replace`` re-exported, for frozen configs."""
    return dataclasses.replace(cfg, **changes)
