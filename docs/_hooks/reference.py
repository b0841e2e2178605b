"""MkDocs hook: reference pages generated from the code, so they cannot drift from it.

A page that holds one of the markers below gets it replaced, at build time, by Markdown
generated from the source tree this file sits in:

- ``<!-- greennlp:settings -->``: every configuration key, from the config dataclasses
  (:class:`greennlp.config.RunConfig` and its sections): type, default, allowed values
  and the ``doc`` of each field's :func:`greennlp.config.rule`;
- ``<!-- greennlp:commands -->``: every command of the ``greennlp`` CLI, from the Typer
  app: its help, arguments and options;
- ``<!-- greennlp:families -->``: the table of model families
  (:data:`greennlp.models.families.FAMILIES`): task, settings, training, capabilities;
- ``<!-- greennlp:layers -->``: the layers of the import-linter contract in
  ``pyproject.toml``, top to bottom, each module with the first sentence of its docstring.

Nothing is fetched from the network. ``tests/test_docs.py`` builds the site in strict
mode and checks that these pages hold what the code declares.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[2]
# The docs describe the sources next to them, even when another copy is installed.
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

SETTINGS_MARKER = "<!-- greennlp:settings -->"
COMMANDS_MARKER = "<!-- greennlp:commands -->"
FAMILIES_MARKER = "<!-- greennlp:families -->"
LAYERS_MARKER = "<!-- greennlp:layers -->"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs event: replace the markers of this page with generated Markdown."""
    if SETTINGS_MARKER in markdown:
        markdown = markdown.replace(SETTINGS_MARKER, settings_markdown())
    if COMMANDS_MARKER in markdown:
        markdown = markdown.replace(COMMANDS_MARKER, commands_markdown())
    if FAMILIES_MARKER in markdown:
        markdown = markdown.replace(FAMILIES_MARKER, families_markdown())
    if LAYERS_MARKER in markdown:
        markdown = markdown.replace(LAYERS_MARKER, layers_markdown())
    return markdown


# --- settings -------------------------------------------------------------------------


def _md(text: str) -> str:
    """Markdown from docstring text: reST roles and double backquotes become code spans."""
    import re

    return re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", str(text)).replace("``", "`")


def _cell(text: str) -> str:
    """Table-cell safe Markdown: a pipe would end the cell, a line break the row."""
    return _md(text).replace("|", "\\|").replace("\n", " ")


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is tuple:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"mapping of name to {_type_name(args[1])}"
    if args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return " or ".join(_type_name(a) for a in rest) + " or null"
    if tp is typing.Any:
        return "any"
    return getattr(tp, "__name__", str(tp))


def _value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return str(value)


def _default(f: dataclasses.Field) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def _allowed(f: dataclasses.Field) -> str:
    meta = f.metadata or {}
    if meta.get("choices"):
        return ", ".join(f"`{_value(c)}`" for c in meta["choices"])
    low, high = meta.get("low"), meta.get("high")
    if low is not None and high is not None:
        return f"{_value(low)} to {_value(high)}"
    if low is not None:
        return f"at least {_value(low)}"
    if high is not None:
        return f"at most {_value(high)}"
    return ""


def _sections(cls: type, prefix: str) -> Iterator[tuple[str, type]]:
    """Every config dataclass reachable from ``cls``, depth first, with its dotted path."""
    yield prefix, cls
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            yield from _sections(tp, f"{prefix}.{f.name}" if prefix else f.name)
        elif typing.get_origin(tp) is dict and dataclasses.is_dataclass(typing.get_args(tp)[1]):
            yield from _sections(typing.get_args(tp)[1],
                                 f"{prefix}.{f.name}.NAME" if prefix else f"{f.name}.NAME")


def _section_markdown(path: str, cls: type) -> list[str]:
    hints = typing.get_type_hints(cls)
    title = f"`{path}`" if path else "top level"
    lines = [f"### {title}", ""]
    doc = (cls.__doc__ or "").strip()
    if doc:
        lines += [_md(" ".join(doc.split("\n\n")[0].split())), ""]
    rows, blocks = [], []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        key = f"{path}.{f.name}" if path else f.name
        if dataclasses.is_dataclass(tp):
            continue  # its own section below
        default = _default(f)
        if isinstance(default, dict):
            shown = "see below" if default else "`{}`"
            if default:
                blocks.append((key, default))
        else:
            shown = f"`{_value(default)}`"
        rows.append(f"| `{key}` | {_cell(_type_name(tp))} | {_cell(shown)} | "
                    f"{_cell(_allowed(f))} | {_cell((f.metadata or {}).get('doc', ''))} |")
    if rows:
        lines += ["| key | type | default | allowed | meaning |", "|---|---|---|---|---|", *rows, ""]
    for key, default in blocks:
        import yaml

        lines += [f"Default of `{key}` (settings left at their own defaults omitted):", "",
                  "```yaml", yaml.safe_dump(_set_values(default), sort_keys=False,
                                            default_flow_style=None).rstrip(), "```", ""]
    return lines


def _set_values(value: Any) -> Any:
    """Plain data of ``value`` without the dataclass fields left at their defaults."""
    if dataclasses.is_dataclass(value):
        return {f.name: _set_values(getattr(value, f.name)) for f in dataclasses.fields(value)
                if getattr(value, f.name) != _default(f)}
    if isinstance(value, dict):
        return {k: _set_values(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_set_values(v) for v in value]
    return value


def settings_markdown() -> str:
    """Markdown tables of every configuration key, one section per config dataclass."""
    from greennlp.config import RunConfig

    lines: list[str] = []
    for path, cls in _sections(RunConfig, ""):
        lines += _section_markdown(path, cls)
    return "\n".join(lines)


# --- commands -------------------------------------------------------------------------


def _param_name(param: Any) -> str:
    if param.param_type_name == "argument":
        return param.name.upper() + ("..." if param.nargs == -1 else "")
    return ", ".join([*param.opts, *param.secondary_opts])


def _param_row(param: Any) -> str:
    if param.param_type_name == "argument":
        kind = "argument" + (", repeatable" if param.nargs == -1 else "")
    else:
        kind = "flag" if getattr(param, "is_flag", False) else "option"
    default = param.default
    shown = "" if default is None or param.required or param.nargs == -1 else f"`{_value(default)}`"
    need = "required" if param.required else "optional"
    return (f"| `{_param_name(param)}` | {kind}, {need} | {_cell(shown)} | "
            f"{_cell(getattr(param, 'help', '') or '')} |")


def _usage(name: str, params: list) -> str:
    pieces = [f"greennlp {name}"]
    for p in params:
        if p.param_type_name == "argument":
            pieces.append(_param_name(p) if p.required else f"[{_param_name(p)}]")
    if any(p.param_type_name == "option" for p in params):
        pieces.append("[OPTIONS]")
    return " ".join(pieces)


def commands_markdown() -> str:
    """Markdown: every ``greennlp`` command with its help, arguments and options."""
    import typer

    from greennlp.cli import app

    group = typer.main.get_command(app)
    lines: list[str] = []
    for name, command in group.commands.items():
        params = [p for p in command.params if p.name != "help"]
        lines += [f"### `greennlp {name}`", "", "```text", _usage(name, params), "```", "",
                  " ".join((command.help or "").split()), ""]
        if params:
            lines += ["| name | kind | default | meaning |", "|---|---|---|---|",
                      *(_param_row(p) for p in params), ""]
    return "\n".join(lines)


# --- model families -------------------------------------------------------------------


def families_markdown() -> str:
    """Markdown table of the model families: task, settings section, training, and the
    capabilities (boolean attributes) each has."""
    from greennlp.models.families import FAMILIES

    rows = ["| family | task | settings | training | can |", "|---|---|---|---|---|"]
    for fam in FAMILIES.values():
        can = [f.name for f in dataclasses.fields(fam)
               if isinstance(getattr(fam, f.name), bool) and getattr(fam, f.name)]
        section = f"`{fam.section}`" if fam.section else "none"
        rows.append(f"| `{fam.name}` | {fam.task} | {section} | {fam.training} | "
                    f"{', '.join(can) or '-'} |")
    return "\n".join(rows)


# --- layers ---------------------------------------------------------------------------


def _summary(module: str) -> str:
    """The first sentence of a module's docstring, read without importing it."""
    import ast

    base = ROOT / "src" / Path(*module.split("."))
    path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    first = " ".join(doc.split("\n\n")[0].split())
    return first.split(". ")[0].rstrip(".") + "." if first else ""


def layers_markdown() -> str:
    """Markdown table of the layers contract of ``pyproject.toml``, top to bottom."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in project["tool"]["importlinter"]["contracts"]
                    if c["type"] == "layers")
    rows = ["| layer | module | what it is |", "|---|---|---|"]
    for number, layer in enumerate(contract["layers"], start=1):
        for module in (m.strip() for m in layer.split("|")):
            rows.append(f"| {number} | `{module}` | {_cell(_summary(module))} |")
    return "\n".join(rows)
