"""Run registry: one SQLite file listing every run under an output directory.

SQLite in WAL mode with a busy timeout is safe for several runs writing at once on
one machine; each write is a single upsert in its own transaction. The registry is
an index only: the run's ``record.json`` stays the source of truth, and
:func:`rebuild` recreates the index from the records if the file is lost. A registry
that cannot be written (a read-only folder, a full disk) is still listed: read-only,
or from the records themselves.

Run ids are names, never paths (:func:`check_run_id`). Each run folder has a lock
(:mod:`greennlp.run_lock`): one writer per run, and a heartbeat that tells a live run
from a killed one, which :func:`list_runs` shows as ``interrupted``.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from greennlp.errors import UserError
from greennlp.record import RunRecord
from greennlp.run_lock import holder_alive

REGISTRY_NAME = "registry.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    name TEXT,
    dataset TEXT,
    best_model TEXT,
    best_test_accuracy REAL,
    selection_metric TEXT,
    best_test_score REAL,
    duration_s REAL,
    energy_kwh REAL,
    co2_kg REAL,
    cost_usd REAL,
    error TEXT,
    run_dir TEXT NOT NULL
)
"""

COLUMNS = ("run_id", "created_at", "finished_at", "status", "name", "dataset", "best_model",
           "best_test_accuracy", "selection_metric", "best_test_score", "duration_s", "energy_kwh", "co2_kg", "cost_usd", "error",
           "run_dir")


_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def check_run_id(run_id: str) -> str:
    """``run_id`` if it is a run name (letters, digits, '-', '_', '.'); never a path.

    Every command that takes a run id goes through :func:`find_run_dir`, which calls this,
    so no id reaches a folder outside the output folder.
    """
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id) or ".." in run_id:
        raise UserError(f"Run id {run_id!r} is not a run name (letters, digits, '-', '_' and "
                        f"'.'; never a path): pass the id shown by `greennlp runs`, and the "
                        f"folder that holds it with --output-dir.")
    return run_id


ADDED_COLUMNS = (("selection_metric", "TEXT"), ("best_test_score", "REAL"))


def _connect(output_dir: str | Path) -> sqlite3.Connection:
    """A connection that writes the registry: WAL mode (readers never wait for a writer,
    nor see half a write) and a busy timeout (a writer waits up to 30 s for another)."""
    path = Path(output_dir) / REGISTRY_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        _create(path)
    conn = sqlite3.connect(path, timeout=30.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(_SCHEMA)
    have = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    for column, kind in ADDED_COLUMNS:  # a registry written by an earlier greennlp
        if column not in have:
            conn.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
    return conn


def _create(path: Path) -> None:
    """Make the registry whole, then give it its name: a reader never finds a registry
    without its table, and runs that start at once never race to set up one file (the
    first name wins; the others use it)."""
    import os
    import tempfile

    from greennlp.files import plain_mode

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with closing(sqlite3.connect(tmp)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)
            conn.commit()
        plain_mode(tmp)
        os.link(tmp, path)
    except OSError:  # made by another run meanwhile; or no hard links on this file system,
        pass  # where sqlite makes the file as it opens it
    finally:
        for extra in ("", "-wal", "-shm"):
            Path(tmp + extra).unlink(missing_ok=True)


def summarize(record: RunRecord) -> dict[str, Any]:
    """The registry row for a record (the model selected on dev, reported on test: its
    accuracy, for classification, and its score of the selection metric)."""
    best = record.select()
    totals = record.totals()
    test_acc = best.test.get("accuracy", {}).get("value") if best else None
    metric = record.selection_metric
    score = best.test.get(metric, {}).get("value") if best else None
    return {
        "run_id": record.run_id, "created_at": record.created_at,
        "finished_at": record.finished_at, "status": record.status,
        "name": record.config.get("name"),
        "dataset": record.config.get("data", {}).get("source"),
        "best_model": best.name if best else None, "best_test_accuracy": test_acc,
        "selection_metric": metric, "best_test_score": score,
        "duration_s": totals["duration_s"], "energy_kwh": totals["energy_kwh"],
        "co2_kg": totals["co2_kg"], "cost_usd": totals["cost_usd"],
        "error": record.error, "run_dir": str(record.run_dir),
    }


def upsert(output_dir: str | Path, record: RunRecord) -> None:
    """Insert or update the row for ``record``."""
    row = summarize(record)
    marks = ", ".join("?" for _ in COLUMNS)
    with closing(_connect(output_dir)) as conn, conn:
        conn.execute(f"INSERT OR REPLACE INTO runs ({', '.join(COLUMNS)}) VALUES ({marks})",
                     [row[c] for c in COLUMNS])


def list_runs(output_dir: str | Path, limit: int | None = None) -> list[dict[str, Any]]:
    """All runs, newest first; a run whose process is gone shows as ``interrupted``.

    The registry is opened read-only, so a folder that cannot be written (read-only, or
    a full disk) is still listed; a registry that cannot be read at all is replaced by
    the run records themselves.
    """
    path = Path(output_dir) / REGISTRY_NAME
    if not path.exists():
        return []
    sql = f"SELECT {', '.join(COLUMNS)} FROM runs ORDER BY created_at DESC, run_id DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    try:
        rows = _read_rows(path, sql)
    except sqlite3.Error:
        rows = [summarize(r) for r in _records(output_dir)]
        rows.sort(key=lambda r: (r["created_at"], r["run_id"]), reverse=True)
        rows = rows[:limit] if limit else rows
    for row in rows:
        if row["status"] == "running" and not holder_alive(Path(output_dir) / row["run_id"]):
            row["status"] = "interrupted"
    return rows


def _read_rows(path: Path, sql: str) -> list[dict[str, Any]]:
    """Rows of a registry opened read-only (a WAL database in a folder that cannot be
    written opens only as immutable)."""
    uri = path.resolve().as_uri()
    for mode in ("?mode=ro", "?immutable=1"):
        try:
            with closing(sqlite3.connect(uri + mode, uri=True, timeout=30.0)) as conn:
                return [dict(zip(COLUMNS, row)) for row in conn.execute(sql)]
        except sqlite3.OperationalError:
            if mode == "?immutable=1":
                raise
    return []


def _records(output_dir: str | Path) -> list[RunRecord]:
    out = []
    for path in sorted(Path(output_dir).glob("*/record.json")):
        try:
            out.append(RunRecord.load(path))
        except (OSError, ValueError, TypeError, KeyError):
            continue  # a record that cannot be read is left out of the listing
    return out


def find_run_dir(output_dir: str | Path, run_id: str) -> Path | None:
    """The directory of run ``run_id`` (a unique prefix is enough), or None."""
    matches = run_dirs(output_dir, run_id)
    return matches[0] if len(matches) == 1 else None


def run_dirs(output_dir: str | Path, run_id: str) -> list[Path]:
    """The directories of the runs ``run_id`` names: itself, else every run whose id it
    begins (newest first)."""
    check_run_id(run_id)
    direct = Path(output_dir) / run_id
    if (direct / "record.json").exists():
        return [direct]
    matches = [Path(output_dir) / r["run_id"] for r in list_runs(output_dir)
               if r["run_id"].startswith(run_id)]
    matches = [m for m in matches if (m / "record.json").exists()]
    if not matches:  # a run folder moved here without its registry: the folders themselves
        matches = sorted((p.parent for p in Path(output_dir).glob(f"{run_id}*/record.json")),
                         reverse=True)
    return matches


def rebuild(output_dir: str | Path) -> int:
    """Recreate the registry from every ``record.json`` under ``output_dir``."""
    count = 0
    for path in sorted(Path(output_dir).glob("*/record.json")):
        upsert(output_dir, RunRecord.load(path))
        count += 1
    return count
