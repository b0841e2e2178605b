"""YAML read with bounds: a config's aliases may not expand it past a size, and an
echoed value is cut to a length.

A few hundred bytes of nested anchors and aliases (a "billion laughs" document) expand
to billions of values once printed, written to a run record or compared; PyYAML's
``safe_load`` builds them as shared references and the cost comes later. Here the
composed document is measured with its aliases expanded (each shared node counted
once per use, without expanding it) and refused above :data:`MAX_NODES`.
"""

from __future__ import annotations

from typing import Any

from greennlp.errors import UserError

MAX_NODES = 100_000  # values of a document with its aliases expanded
MAX_FILE_BYTES = 1_000_000
MAX_OVERRIDE_CHARS = 10_000
SHOWN_CHARS = 200


def shown(value: Any, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters (with "…"), for echoing user input.

    A container's repr is built from a bounded prefix, so a shared, exponentially large
    value is not expanded to be cut."""
    text = _bounded_repr(value, limit + 1)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _bounded_repr(value: Any, limit: int) -> str:
    if isinstance(value, str):
        return repr(value[:limit])
    if not isinstance(value, (list, tuple, dict)):
        return repr(value)[:limit]
    brackets = "{}" if isinstance(value, dict) else "()" if isinstance(value, tuple) else "[]"
    parts, used = [], 0
    for item in (value.items() if isinstance(value, dict) else value):
        part = (f"{_bounded_repr(item[0], limit)}: {_bounded_repr(item[1], limit)}"
                if isinstance(value, dict) else _bounded_repr(item, limit))
        parts.append(part)
        used += len(part) + 2
        if used > limit:
            break
    return brackets[0] + ", ".join(parts) + brackets[1]


def _expanded_size(node: Any, sizes: dict[int, int], open_: set[int], what: str) -> int:
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_:
        raise UserError(f"{what} has an alias that refers to its own anchor; write the value out "
                        f"without anchors (&) and aliases (*).")
    open_.add(key)
    size = 1
    if isinstance(node.value, list):
        for child in node.value:
            pairs = child if isinstance(child, tuple) else (child,)
            for sub in pairs:
                size += _expanded_size(sub, sizes, open_, what)
                if size > MAX_NODES:
                    raise UserError(f"{what} expands through its YAML aliases (*) to more than "
                                    f"{MAX_NODES:,} values; write it without anchors (&) and "
                                    f"aliases (*).")
    open_.discard(key)
    sizes[key] = size
    return size


def load(text: str, what: str, *, aliases: bool = True) -> Any:
    """``yaml.safe_load(text)`` with the expanded size bounded (``aliases=False``: any
    alias is refused); ``what`` names the input in the error sentence.

    Raises ``yaml.YAMLError`` for syntax errors, :class:`UserError` for a document that
    is too large or too deep."""
    import yaml

    class Bounded(yaml.SafeLoader):
        def compose_node(self, parent, index):  # noqa: N802 (PyYAML's name)
            if not aliases and self.check_event(yaml.AliasEvent):
                raise UserError(f"{what} uses a YAML alias (*); write the value out instead.")
            return super().compose_node(parent, index)

        def get_single_node(self):
            node = super().get_single_node()
            if node is not None:
                _expanded_size(node, {}, set(), what)
            return node

    loader = Bounded(text)
    try:
        return loader.get_single_data()
    except RecursionError:
        raise UserError(f"{what} is nested too deeply to read; flatten it.") from None
    finally:
        loader.dispose()
