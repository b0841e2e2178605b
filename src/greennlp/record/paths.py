"""Paths inside a run, stored relative to the run's folder, so that a run folder can move.

In memory a record's paths are usable as they are (``runs/<id>/models/tfidf_logreg/final``,
under wherever the run folder is now); in ``record.json`` the ones inside the run folder
are written relative to it (``models/tfidf_logreg/final``), and they are joined to the
folder the record is read from. A run copied to another disk or machine opens from any
working directory. The fields that hold such paths are listed here, once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

Convert = Callable[[str], str]


def inside(run_dir: str | Path) -> Convert:
    """A function writing a path under ``run_dir`` relative to it (others unchanged).

    >>> inside("runs/r1")("runs/r1/models/m/final"), inside("runs/r1")("/data/x.csv")
    ('models/m/final', '/data/x.csv')
    """
    root = os.path.abspath(run_dir)

    def convert(path: str) -> str:
        if not path:
            return path
        full = os.path.abspath(path)
        if full == root or not full.startswith(root.rstrip(os.sep) + os.sep):
            return path
        return Path(os.path.relpath(full, root)).as_posix()
    return convert


def under(run_dir: str | Path) -> Convert:
    """A function joining a run-relative path to ``run_dir`` (absolute ones unchanged).

    >>> under("/moved/r1")("models/m/final")
    '/moved/r1/models/m/final'
    """
    def convert(path: str) -> str:
        if not path or Path(path).is_absolute():
            return path
        return str(Path(run_dir) / path)
    return convert


def after_run_id(run_id: str) -> Convert:
    """For records written before paths were run-relative (schema 4 and older): the part
    of a path after the run's own folder (``runs/<id>/models/m`` -> ``models/m``), so
    that the path is found wherever the folder is now; a path outside the run is kept.

    >>> after_run_id("r1")("../old/runs/r1/models/m/final"), after_run_id("r1")("x/y")
    ('models/m/final', 'x/y')
    """
    def convert(path: str) -> str:
        parts = Path(path).parts
        if not path or run_id not in parts[:-1]:
            return path
        last = len(parts) - 1 - parts[::-1].index(run_id)
        return Path(*parts[last + 1:]).as_posix()
    return convert


def convert_paths(data: dict[str, Any], convert: Convert) -> dict[str, Any]:
    """Apply ``convert`` to every path a record's JSON mapping holds (in place): each
    model's checkpoint, each search's best checkpoint, each seed's checkpoint, each
    stage's artifacts and the PIE audit's saved probabilities."""
    for model in data.get("models") or []:
        _field(model, "checkpoint", convert)
    for search in (data.get("search") or {}).values():
        _field(search, "best_checkpoint", convert)
    for runs in (data.get("seed_runs") or {}).values():
        for row in runs.get("per_seed") or []:
            _field(row, "checkpoint", convert)
    for stage in data.get("stages") or []:
        artifacts = stage.get("artifacts") or {}
        for key in artifacts:
            _field(artifacts, key, convert)
    _field((data.get("compression") or {}).get("pie") or {}, "probabilities", convert)
    return data


def _field(holder: dict[str, Any], key: str, convert: Convert) -> None:
    if isinstance(holder.get(key), str):
        holder[key] = convert(holder[key])
