"""Search spaces: validate, sample, enumerate a grid, and apply a point to a family config.

A parameter name is a field of the family's config section (``C``, ``hidden_size``), a
field of its ``train`` subsection (``lr``, ``batch_size``), or ``seed``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any

import numpy as np

from greennlp.config.rules import check_rule
from greennlp.config.search import ParamSpec
from greennlp.errors import UserError

SEED = "seed"


def _field_names(cfg: Any) -> set[str]:
    return {f.name for f in dataclasses.fields(cfg)}


def _subsections(cfg: Any) -> list[str]:
    """The nested settings sections of a family config (``train``, ``finetune``)."""
    return [f.name for f in dataclasses.fields(cfg)
            if dataclasses.is_dataclass(getattr(cfg, f.name))]


def _locate(cfg: Any, name: str) -> tuple[str, ...] | None:
    """Path of ``name`` inside a family config: (name,), or (section, name) inside a nested
    section such as the training loop's (``train``) or the fine-tuning method's
    (``finetune``)."""
    if name in _field_names(cfg):
        return (name,)
    for sub in _subsections(cfg):
        if name in _field_names(getattr(cfg, sub)):
            return (sub, name)
    return None


def _field(cfg: Any, path: tuple[str, ...]) -> dataclasses.Field:
    owner = cfg if len(path) == 1 else getattr(cfg, path[0])
    return next(f for f in dataclasses.fields(owner) if f.name == path[-1])


def validate(family: str, space: dict[str, ParamSpec], family_cfg: Any,
             section: str | None = None) -> None:
    """Fail with one sentence if a name, a distribution or a value of ``space`` is wrong.

    Every choice and both bounds of every parameter must be values the family's config
    section (at dotted path ``section``, by default the family's name) accepts, alone
    and with its other settings.
    """
    section = section or family
    where = f"search.families.{family}.space"
    if not space:
        raise UserError(f"{where} is empty; declare at least one parameter to search.")
    for name, spec in space.items():
        key = f"{where}.{name}"
        if name != SEED and _locate(family_cfg, name) is None:
            subs = _subsections(family_cfg)
            names = sorted(_field_names(family_cfg).union(
                *(_field_names(getattr(family_cfg, sub)) for sub in subs)) - set(subs))
            raise UserError(f"'{name}' in {where} is not a parameter of {family}; use one of "
                            f"{', '.join(names)} or seed.")
        path = _locate(family_cfg, name)
        if spec.dist == "choice":
            if not spec.values:
                raise UserError(f"{key} is a choice without values; give values: [a, b].")
            for value in spec.values:  # every value must be one the config itself accepts
                if path:
                    _check_value(family_cfg, section, path, name, value, key)
            continue
        if spec.low is None or spec.high is None or not spec.low < spec.high:
            raise UserError(f"{key} needs bounds low < high (got low={spec.low}, "
                            f"high={spec.high}); declare both.")
        if spec.dist == "loguniform" and spec.low <= 0:
            raise UserError(f"{key} is log-uniform, so low must be > 0 (got {spec.low}).")
        if spec.dist == "int" and not (float(spec.low).is_integer() and float(spec.high).is_integer()):
            raise UserError(f"{key} is an int distribution; give integer bounds.")
        if path:
            for bound in (spec.low, spec.high):
                _check_value(family_cfg, section, path, name, bound, key)


def _check_value(family_cfg: Any, section: str, path: tuple[str, ...], name: str, value: Any,
                 key: str) -> None:
    """The field's own rule, then the section's cross-field rules with ``value`` applied."""
    check_rule(_field(family_cfg, path), value, key)
    if not hasattr(family_cfg, "check"):
        return
    try:
        apply(family_cfg, {name: value})[0].check(section + ".")
    except UserError as exc:
        raise UserError(f"{key} allows {value!r}, which the settings cannot take: "
                        f"{str(exc)[0].lower()}{str(exc)[1:]}") from None


def sample(space: dict[str, ParamSpec], rng: np.random.Generator) -> dict[str, Any]:
    """One random point (parameters in declaration order, so a seed fixes the sequence)."""
    point: dict[str, Any] = {}
    for name, spec in space.items():
        if spec.dist == "choice":
            point[name] = spec.values[int(rng.integers(len(spec.values)))]
        elif spec.dist == "int":
            point[name] = int(rng.integers(int(spec.low), int(spec.high) + 1))
        elif spec.dist == "uniform":
            point[name] = float(rng.uniform(spec.low, spec.high))
        else:
            point[name] = float(math.exp(rng.uniform(math.log(spec.low), math.log(spec.high))))
    return point


def grid_values(spec: ParamSpec) -> list[Any]:
    """The values a grid search tries for one parameter."""
    if spec.dist == "choice":
        return list(spec.values)
    if spec.dist == "int":
        values = np.linspace(spec.low, spec.high, min(spec.grid_points, int(spec.high - spec.low) + 1))
        return sorted({int(round(v)) for v in values})
    if spec.dist == "uniform":
        return [float(v) for v in np.linspace(spec.low, spec.high, spec.grid_points)]
    return [float(v) for v in np.geomspace(spec.low, spec.high, spec.grid_points)]


def grid(space: dict[str, ParamSpec]) -> list[dict[str, Any]]:
    """Every combination of the per-parameter grid values."""
    names = list(space)
    return [dict(zip(names, combo)) for combo in itertools.product(*(grid_values(space[n]) for n in names))]


def apply(family_cfg: Any, point: dict[str, Any]) -> tuple[Any, int | None]:
    """The family config with ``point`` applied, and the point's seed (None if not searched)."""
    cfg = family_cfg
    for name, value in point.items():
        if name == SEED:
            continue
        path = _locate(cfg, name)
        if path == (name,):
            cfg = dataclasses.replace(cfg, **{name: value})
        else:
            sub = path[0]
            cfg = dataclasses.replace(cfg, **{sub: dataclasses.replace(getattr(cfg, sub),
                                                                        **{name: value})})
    seed = point.get(SEED)
    return cfg, (int(seed) if seed is not None else None)
