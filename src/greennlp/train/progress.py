"""A small progress bar (rich) shared by training and long evaluations."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)


class _Bar:
    def __init__(self, progress: Progress | None, task: int | None) -> None:
        self._progress, self._task = progress, task

    def advance(self, n: int = 1, **fields: float) -> None:
        if self._progress is None:
            return
        info = "  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                         for k, v in fields.items())
        self._progress.update(self._task, advance=n, info=info)


def progress_enabled() -> bool:
    """Bars are drawn on a terminal, unless GREENNLP_PROGRESS=0."""
    flag = os.environ.get("GREENNLP_PROGRESS")
    if flag is not None:
        return flag not in ("0", "false", "no")
    return sys.stderr.isatty()


@contextmanager
def progress_bar(desc: str, total: int, disable: bool = False) -> Iterator[_Bar]:
    """A transient bar on stderr with elapsed / remaining time and free-form info."""
    if disable or not progress_enabled():
        yield _Bar(None, None)
        return
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                        MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                        TextColumn("{task.fields[info]}"),
                        console=Console(stderr=True), transient=True)
    with progress:
        task = progress.add_task(desc, total=total, info="")
        yield _Bar(progress, task)
