"""Knowledge about tasks and model families lives in one place each: the family table
(``models/families.py``) and the task's own modules (``tasks/<task>*.py``). Everywhere
else asks the table for capabilities; this test counts, with the AST, every comparison
or lookup table keyed by a family or task name outside those files (and the same in the
Jinja templates), and fails on any."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from greennlp.models import FAMILIES
from greennlp.tasks import TASKS

SRC = Path(__file__).resolve().parents[1] / "src" / "greennlp"
NAMES = frozenset(FAMILIES) | frozenset(TASKS)


def _allowed(path: Path) -> bool:
    """The family table, the task table and each task's own modules; and the config's
    defaults (``models``, search spaces per family), which are data a user overrides."""
    rel = path.relative_to(SRC).as_posix()
    if rel in ("models/families.py", "tasks/__init__.py") or rel.startswith("config/"):
        return True
    return rel.startswith("tasks/") and any(Path(rel).stem.startswith(t) for t in TASKS)


def _named(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and node.value in NAMES:
        return node.value
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return next((n for n in map(_named, node.elts) if n), None)
    return None


def branches_in(source: str) -> list[tuple[int, str]]:
    """(line, name) of each comparison with a name, and each dict literal with two or more
    names as keys (a lookup table by family or task)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            name = next((n for n in map(_named, [node.left, *node.comparators]) if n), None)
            if name:
                found.append((node.lineno, name))
        elif isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant) and k.value in NAMES]
            if len(keys) >= 2:
                found.append((node.lineno, keys[0]))
    return found


TEMPLATE = re.compile(r"""(==|!=|equalto["']?\s*,)\s*["'](\w+)["']""")


def find_all() -> list[str]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        if not _allowed(path):
            out += [f"{path.relative_to(SRC)}:{line}: {name!r}"
                    for line, name in branches_in(path.read_text())]
    for path in sorted(SRC.rglob("*.j2")):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            out += [f"{path.relative_to(SRC)}:{i}: {m.group(2)!r}" for m in TEMPLATE.finditer(line)
                    if m.group(2) in NAMES]
    return out


def test_the_counter_sees_a_branch():
    assert branches_in('if fam == "smollm2": pass\nx = {"gpt": 1, "lstm": 2}') == [
        (1, "smollm2"), (2, "gpt")]
    assert branches_in('settings = {"ngram": 5, "threshold": 0.8}') == []  # a setting's name
    assert branches_in('if task in ("lm", "other"): pass') == [(1, "lm")]
    assert branches_in('if fam.writes_text: pass') == []


def test_no_family_or_task_name_branches_outside_the_table_and_the_tasks():
    found = find_all()
    assert not found, "ask the family table for a capability instead:\n" + "\n".join(found)
