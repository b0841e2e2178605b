"""Data-derived text in Markdown: shown as text, never run as HTML or Markdown.

The model card, datasheet and checklist copy texts, labels, column names, file names and
the run name from the data and the command line. Markdown renderers (the Hugging Face
Hub, GitHub, most viewers) pass raw HTML through and read ``|``, ``*``, ``[`` and line
breaks as structure, so a dataset holding ``<script>`` or ``<img onerror=...>`` would run,
and a label holding ``|`` or a newline would break a table. Every such value goes through
:func:`md` (or :func:`md_code` inside backticks) where it is written. No library escapes
Markdown inline text (markdown-it and mistune parse it; they do not write it), hence this.
"""

from __future__ import annotations

import html
import re
from typing import Any

NEWLINE = "\u21b5"  # a visible mark where the value had a line break
_SPECIAL = re.compile(r"([\\`*_\[\]|~])")  # < > & are HTML-escaped
_BREAKS = re.compile(r"\r\n|\r|\n|\u2028|\u2029")
_ESCAPED = re.compile(r"\\([\\`*_\[\]|~])")  # what md() backslash-escaped


def md(value: Any) -> str:
    """``value`` as inline Markdown text that renders as exactly that text.

    >>> md('<img src=x onerror=alert(1)> a|b')
    '&lt;img src=x onerror=alert(1)&gt; a\\\\|b'
    >>> md('two\\nlines')
    'two \u21b5 lines'
    """
    text = _BREAKS.sub(f" {NEWLINE} ", str(value))
    text = _SPECIAL.sub(r"\\\1", text)
    return html.escape(text, quote=False)


def md_plain(text: str) -> str:
    """The text that :func:`md` escaped, back as plain text (to be HTML-escaped again).

    >>> md_plain(md('<b> a|b_c'))
    '<b> a|b_c'
    """
    return html.unescape(_ESCAPED.sub(r"\1", text))


def metadata_id(value: Any) -> str:
    """``value`` as an identifier for the YAML front matter (a dataset name): letters,
    digits and ``_ . - /`` only (the Hub's ids), so no markup travels in the metadata."""
    return re.sub(r"[^A-Za-z0-9_.\-/]", "_", str(value))


def md_code(value: Any) -> str:
    """``value`` as an inline code span (a backtick fence longer than any run inside it)."""
    text = _BREAKS.sub(f" {NEWLINE} ", str(value))
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
