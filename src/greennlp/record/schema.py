"""Typed records from JSON and back: one generic builder instead of a reader per section.

:func:`build` turns a decoded JSON mapping into the dataclass its type hints describe
(nested dataclasses, ``list[X]``, ``dict[str, X]``, ``X | None``). A dataclass may name
one ``dict`` field with ``metadata={"rest": True}``: keys the class does not declare are
kept there instead of being dropped, so facts that differ between model families or
compressors stay in the record without a field each. :func:`to_json` is the inverse; it
writes those keys beside the declared ones, so record.json keeps its flat shape.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from pathlib import Path
from typing import Any, Mapping

T = typing.TypeVar("T")


def rest_field(**kwargs: Any) -> Any:
    """A ``dict`` field that collects the keys a record class does not declare."""
    return dataclasses.field(default_factory=dict, metadata={"rest": True}, **kwargs)


@functools.lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def build(cls: type[T], data: Mapping[str, Any]) -> T:
    """An instance of dataclass ``cls`` from a JSON mapping (see the module docstring)."""
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    rest = next((f.name for f in fields.values() if f.metadata.get("rest")), None)
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in data.items():
        if key in fields and key != rest:
            kwargs[key] = _coerce(hints[key], value)
        elif key == rest and isinstance(value, Mapping):
            extra.update(value)
        else:
            extra[key] = value
    if rest is not None:
        kwargs[rest] = extra
    return cls(**kwargs)


def _coerce(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return build(tp, value) if isinstance(value, Mapping) else value
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        klass = next((a for a in args if dataclasses.is_dataclass(a)), None)
        if klass is not None and isinstance(value, Mapping):
            return build(klass, value)
        return _coerce(args[0], value) if len(args) == 1 else value
    if origin is list and isinstance(value, list):
        (item,) = typing.get_args(tp)
        return [_coerce(item, v) for v in value]
    if origin is dict and isinstance(value, Mapping):
        _, item = typing.get_args(tp)
        return {k: _coerce(item, v) for k, v in value.items()}
    return value


def to_json(obj: Any) -> Any:
    """A JSON-ready structure of a record dataclass (numpy scalars and paths included)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = dataclasses.fields(obj)
        out = {f.name: to_json(getattr(obj, f.name)) for f in fields if not f.metadata.get("rest")}
        for f in fields:
            if f.metadata.get("rest"):
                out.update({k: to_json(v) for k, v in getattr(obj, f.name).items() if k not in out})
        return out
    if isinstance(obj, Mapping):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return obj.tolist()
    return obj
