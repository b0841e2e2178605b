"""Run registry: one SQLite file listing every run under an output directory.

SQLite in WAL mode with a busy timeout is safe for several runs writing at once on
one machine; each write is a single upsert in its own transaction. The registry is
an index only: the run's ``record.json`` stays the source of truth, and
:func:`rebuild` recreates the index from the records if the file is lost.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from greennlp.record import RunRecord

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
    duration_s REAL,
    energy_kwh REAL,
    co2_kg REAL,
    cost_usd REAL,
    error TEXT,
    run_dir TEXT NOT NULL
)
"""

COLUMNS = ("run_id", "created_at", "finished_at", "status", "name", "dataset", "best_model",
           "best_test_accuracy", "duration_s", "energy_kwh", "co2_kg", "cost_usd", "error",
           "run_dir")


def _connect(output_dir: str | Path) -> sqlite3.Connection:
    path = Path(output_dir) / REGISTRY_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(_SCHEMA)
    return conn


def summarize(record: RunRecord) -> dict[str, Any]:
    """The registry row for a record (best model chosen on dev, reported on test)."""
    best = record.best_model()
    totals = record.totals()
    test_acc = best.test.get("accuracy", {}).get("value") if best else None
    return {
        "run_id": record.run_id, "created_at": record.created_at,
        "finished_at": record.finished_at, "status": record.status,
        "name": record.config.get("name"),
        "dataset": record.config.get("data", {}).get("source"),
        "best_model": best.name if best else None, "best_test_accuracy": test_acc,
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
    """All runs, newest first."""
    if not (Path(output_dir) / REGISTRY_NAME).exists():
        return []
    sql = f"SELECT {', '.join(COLUMNS)} FROM runs ORDER BY created_at DESC, run_id DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    with closing(_connect(output_dir)) as conn:
        return [dict(zip(COLUMNS, row)) for row in conn.execute(sql)]


def find_run_dir(output_dir: str | Path, run_id: str) -> Path | None:
    """The directory of run ``run_id`` (a unique prefix is enough), or None."""
    direct = Path(output_dir) / run_id
    if (direct / "record.json").exists():
        return direct
    matches = [Path(output_dir) / r["run_id"] for r in list_runs(output_dir)
               if r["run_id"].startswith(run_id)]
    matches = [m for m in matches if (m / "record.json").exists()]
    return matches[0] if len(matches) == 1 else None


def rebuild(output_dir: str | Path) -> int:
    """Recreate the registry from every ``record.json`` under ``output_dir``."""
    count = 0
    for path in sorted(Path(output_dir).glob("*/record.json")):
        upsert(output_dir, RunRecord.load(path))
        count += 1
    return count
