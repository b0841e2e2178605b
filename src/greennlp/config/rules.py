"""Config parsing: typed dataclass fields with declared rules, dicts to dataclasses, files.

:func:`rule` declares a field's bounds or choices next to the field; :func:`from_dict`
builds a frozen dataclass from a nested mapping and checks every key, type and rule,
then the section's own cross-field ``check(prefix)`` if it has one, raising
:class:`~greennlp.errors.UserError` with one sentence that names the key.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
import types
import typing
from dataclasses import field
from pathlib import Path
from typing import Any, Mapping

from greennlp.config import bounded_yaml
from greennlp.config.bounded_yaml import MAX_FILE_BYTES, MAX_OVERRIDE_CHARS, shown
from greennlp.errors import UserError

# yaml, tomllib and importlib.resources are imported where files are read: together they
# cost ~30 ms, which would count against measurement start-up (target: under 100 ms).


def rule(default: Any, *, choices: tuple | None = None, low: float | None = None,
         high: float | None = None, doc: str = "") -> Any:
    """A dataclass field with declared choices or bounds (inclusive)."""
    meta = {"choices": choices, "low": low, "high": high, "doc": doc}
    if isinstance(default, (list, dict)) or dataclasses.is_dataclass(default):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


# Sections declared at run time (a model family registered with its settings, see
# greennlp.models.register): top-level key -> its dataclass. A config dataclass holds them
# in its field marked ``declared`` (RunConfig.declared); they read and write as top-level
# sections like the built-in ones.
DECLARED: dict[str, type] = {}


def declare_section(name: str, cls: type) -> None:
    """Accept ``name`` as a top-level config section of dataclass ``cls``."""
    DECLARED[name] = cls


def declared_sections() -> dict[str, Any]:
    """The default of every declared section (the ``declared`` field's default)."""
    return {name: cls() for name, cls in DECLARED.items()}


def _declared_field(cls: type) -> str | None:
    return next((f.name for f in dataclasses.fields(cls) if f.metadata.get("declared")), None)


def to_dict(cfg: Any) -> dict:
    """A plain, JSON-serialisable dict of a config dataclass (declared sections at the top
    level, like the built-in ones)."""
    out = json.loads(json.dumps(dataclasses.asdict(cfg)))
    holder = _declared_field(type(cfg)) if dataclasses.is_dataclass(cfg) else None
    if holder is not None:
        out.update(out.pop(holder))
    return out


def from_dict(cls: type, data: Mapping[str, Any], prefix: str = "", *, merge: bool = False) -> Any:
    """Build config dataclass ``cls`` from a nested mapping, checking every key and type.

    With ``merge`` (user input), dict-valued fields such as search spaces are merged entry
    by entry onto their defaults; without it (a resolved config read back), taken as is.
    """
    if not isinstance(data, Mapping):
        where = f"'{prefix.rstrip('.')}'" if prefix else "the config file"
        raise UserError(f"Config section {where} must be a mapping of keys to values.")
    hints = typing.get_type_hints(cls)
    holder = _declared_field(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.name != holder}
    extra = DECLARED if holder else {}
    for key in data:
        if key not in known and key not in extra:
            raise UserError(f"Unknown config key '{prefix}{key}'; valid keys there are: "
                            f"{', '.join([*known, *extra])}.")
    kwargs = {}
    if holder is not None:
        kwargs[holder] = {name: from_dict(kind, data.get(name, {}), f"{prefix}{name}.", merge=merge)
                          for name, kind in extra.items()}
    for name, f in known.items():
        if name in data:
            raw = data[name]
            if merge and typing.get_origin(hints[name]) is dict and isinstance(raw, Mapping):
                raw = _merge_onto_default(f, raw)
            value = _coerce(hints[name], raw, prefix + name, merge)
            check_rule(f, value, prefix + name)
            kwargs[name] = value
    built = cls(**kwargs)
    if hasattr(built, "check"):
        built.check(prefix)
    return built


def _merge_onto_default(f: dataclasses.Field, data: Mapping[str, Any]) -> dict:
    """Dict-valued fields (e.g. search spaces) are overridden entry by entry, so that
    ``search.families.transformer.trials=3`` keeps the default space; an entry set to
    null is removed."""
    if f.default_factory is dataclasses.MISSING:
        return dict(data)
    merged = json.loads(json.dumps(f.default_factory(), default=dataclasses.asdict))
    for key, value in data.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def deep_merge(base: dict, update: Mapping[str, Any]) -> dict:
    """``base`` updated by ``update``, mapping by mapping (neither is changed).

    >>> deep_merge({"data": {"source": "a", "split": "blocks"}}, {"data": {"source": "b"}})
    {'data': {'source': 'b', 'split': 'blocks'}}
    """
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


_SCIENTIFIC = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _coerce(tp: Any, value: Any, key: str, merge: bool = False) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, key + ".", merge=merge)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, key, merge)
            except UserError as exc:
                errors.append(exc)
        raise errors[0]
    if tp is Any:
        return value
    if origin is dict:
        if not isinstance(value, Mapping):
            raise UserError(f"Config key '{key}' must be a mapping, got {shown(value)}.")
        value_type = typing.get_args(tp)[1]
        return {str(k): _coerce(value_type, v, f"{key}.{k}", merge) for k, v in value.items()}
    if origin is tuple:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise UserError(f"Config key '{key}' must be a list, got {shown(value)}; "
                            f"write it as {key}=[a,b].")
        return tuple(_coerce(typing.get_args(tp)[0], v, key, merge) for v in value)
    if origin is not None:  # other generics are not used in configs
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > 1e300:  # float() of it overflows
            raise UserError(f"Config key '{key}' is {str(value)[:20]}... ({len(str(value))} "
                            f"digits); it must be a finite number, e.g. {key}=0.5.")
        return float(value)
    if tp is float and isinstance(value, str) and _SCIENTIFIC.fullmatch(value.strip()):
        value = float(value)  # YAML 1.1 reads 5e-5 (no dot) as a string
    if tp is float and isinstance(value, float) and not math.isfinite(value):
        raise UserError(f"Config key '{key}' is {value}; it must be a finite number, e.g. "
                        f"{key}=0.5.")
    if tp is str and isinstance(value, str) and "\x00" in value:  # no path or name holds one
        raise UserError(f"Config key '{key}' holds a NUL character (\\0); remove it.")
    ok = isinstance(value, tp) and not (tp is int and isinstance(value, bool))
    if not ok:
        raise UserError(f"Config key '{key}' must be {_type_name(tp)}, got {shown(value)}; "
                        f"set it like {key}={_example(tp)}.")
    return value


def _example(tp: Any) -> str:
    return {int: "3", float: "0.5", bool: "true", str: "text"}.get(tp, "...")


def check_rule(f: dataclasses.Field, value: Any, key: str) -> None:
    meta = f.metadata
    if not meta or value is None:
        return
    if meta.get("choices") and value not in meta["choices"]:
        raise UserError(f"Config key '{key}' is {shown(value)}; choose one of: "
                        f"{', '.join(map(str, meta['choices']))}.")
    low, high = meta.get("low"), meta.get("high")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise UserError(f"Config key '{key}' is {value}; it must be {bounds}.")


def _read_file(path: Path) -> dict:
    import tomllib

    import yaml

    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise UserError(f"Config file {path} is {size:,} bytes, over the limit of "
                        f"{MAX_FILE_BYTES:,}; a config holds settings, not data: point "
                        f"data.source at the data instead.")
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
            data = bounded_yaml.load(text, f"Config file {path}")
    except (yaml.YAMLError, tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        first = str(exc).splitlines()[0]
        raise UserError(f"Config file {path} cannot be parsed ({first}); fix its syntax.") from None
    if data is not None and not isinstance(data, dict):
        raise UserError(f"Config file {path} holds a {type(data).__name__}; it must be a mapping "
                        f"of keys to values: write it as key: value lines (see `greennlp config`).")
    return data or {}


def profiles() -> list[str]:
    """Names of the built-in config profiles shipped with greennlp."""
    from importlib import resources

    folder = resources.files("greennlp") / "configs"
    return sorted(p.name.rsplit(".", 1)[0] for p in folder.iterdir() if p.name.endswith(".yaml"))


def read_source(source: str) -> dict:
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


def set_dotted(data: dict, dotted: str, value: Any) -> None:
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

    if len(text) > MAX_OVERRIDE_CHARS:
        raise UserError(f"Override {shown(text, 60)} is {len(text):,} characters, over the limit "
                        f"of {MAX_OVERRIDE_CHARS:,}; put long values in a config file.")
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise UserError(f"Override {shown(text)} is not of the form key=value; write e.g. seed=1.")
    try:
        value = bounded_yaml.load(raw, f"Override '{key.strip()}'", aliases=False) \
            if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value
