"""The run registry under load: several runs writing one registry while readers list it.

Each writer is its own process and goes through the real registry writes of a run:
``greennlp.run.start`` (record.json and the registry row, holding the run's lock), one
measured stage after another (``Run.stage``: the record saved and the row updated at the
end of each), and ``Run.execute``'s finish (status ``completed``). Every
``store.upsert`` is timed. Readers, also processes, loop over what `greennlp runs` and
`greennlp report` read (``store.list_runs``, ``find_record``) and check every row they
see: whole (the columns a run's row always has), and never a registry read that failed
and fell back to the records.

Prints the registry's write latency (p50 / p95 / max), the readers' loops and every
error ("database is locked" included).

Run: ``python benchmarks/registry_load.py --writers 8 --stages 20 --readers 2``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

STATUSES = {"running", "completed", "failed", "interrupted"}
ALWAYS = ("run_id", "created_at", "status", "run_dir")


def writer(out: str, stages: int, result: str) -> None:
    """One run's registry writes: start, ``stages`` stages, finish; each upsert timed."""
    from greennlp import store
    from greennlp.run import start
    from greennlp.tasks import load_config

    real, latencies, errors = store.upsert, [], []

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return real(*args, **kwargs)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            latencies.append(time.perf_counter() - t0)

    store.upsert = timed
    cfg = load_config(None, [f"output_dir={out}", "models=[tfidf_logreg]"])
    run = start(cfg, "registry_load", log=lambda text: None)
    steps = [lambda r, i=i: r.stage(f"step{i}", lambda st: None) for i in range(stages)]
    run.execute(steps, write_reports=lambda record: None)
    Path(result).write_text(json.dumps({"run_id": run.record.run_id, "latencies": latencies,
                                        "errors": errors}))


def check_row(row: dict) -> str | None:
    """What is wrong with a registry row as a reader sees it, or None."""
    if any(row.get(c) in (None, "") for c in ALWAYS) or row["status"] not in STATUSES:
        return f"incomplete row {row}"
    if row["status"] == "completed" and (row.get("finished_at") is None
                                         or row.get("duration_s") is None):
        return f"completed without its end {row}"
    return None


def reader(out: str, stop: str, result: str) -> None:
    """List the registry and load the runs' records until ``stop`` exists."""
    from greennlp import store
    from greennlp.run import find_record

    real_records, errors, loops, listed = store._records, [], 0, 0

    def fallback(output_dir):  # list_runs reads the records only when the registry failed
        errors.append("the registry could not be read; the records were listed instead")
        return real_records(output_dir)

    store._records = fallback
    while not Path(stop).exists():
        try:
            rows = store.list_runs(out)
            listed += bool(rows)
            for row in rows:
                problem = check_row(row)
                if problem:
                    errors.append(problem)
                elif row["status"] == "completed":
                    find_record(row["run_id"], out)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        loops += 1
    Path(result).write_text(json.dumps({"loops": loops, "listed": listed, "errors": errors}))


def load(writers: int, stages: int, readers: int, folder: Path) -> dict:
    """Run the load; returns the runs recorded, the latencies and every error."""
    spawn = multiprocessing.get_context("spawn")
    out, stop = folder / "runs", folder / "stop"
    out.mkdir(parents=True, exist_ok=True)
    read = [spawn.Process(target=reader, args=(str(out), str(stop), str(folder / f"r{i}.json")))
            for i in range(readers)]
    write = [spawn.Process(target=writer, args=(str(out), stages, str(folder / f"w{i}.json")))
             for i in range(writers)]
    t0 = time.perf_counter()
    for p in read + write:
        p.start()
    for p in write:
        p.join()
    wall = time.perf_counter() - t0
    stop.touch()
    for p in read:
        p.join()
    from greennlp import store

    done = [json.loads((folder / f"w{i}.json").read_text()) for i in range(writers)
            if (folder / f"w{i}.json").exists()]
    seen = [json.loads((folder / f"r{i}.json").read_text()) for i in range(readers)
            if (folder / f"r{i}.json").exists()]
    latencies = sorted(x for d in done for x in d["latencies"])
    return {"writers": writers, "stages": stages, "wall_s": wall,
            "exit_codes": [p.exitcode for p in write + read],
            "recorded": sorted(r["status"] for r in store.list_runs(out)),
            "writes": len(latencies),
            "p50_ms": 1e3 * statistics.median(latencies) if latencies else None,
            "p95_ms": 1e3 * latencies[int(0.95 * (len(latencies) - 1))] if latencies else None,
            "max_ms": 1e3 * latencies[-1] if latencies else None,
            "writer_errors": [e for d in done for e in d["errors"]],
            "reader_loops": [s["loops"] for s in seen],
            "reader_loops_with_runs": [s["listed"] for s in seen],
            "reader_errors": [e for s in seen for e in s["errors"]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--stages", type=int, default=20)
    parser.add_argument("--readers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        result = load(args.writers, args.stages, args.readers, Path(folder))
    print(json.dumps(result, indent=2))
    ok = (result["recorded"] == ["completed"] * args.writers and not result["writer_errors"]
          and not result["reader_errors"])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
