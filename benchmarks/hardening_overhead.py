"""What the safety nets cost: the run lock's heartbeat, the stage progress saver, the
checks before work and the atomic writes, each against the same work without it.

* lock: acquire + release of a run's lock (once per run), and one heartbeat (a
  ``utime`` every 5 s, from a daemon thread).
* progress: ``track()`` around an empty block with a progress file against without one
  (a thread started and stopped per stage, the file settled), and one snapshot of the
  running totals (taken every 10 s while a stage runs).
* checks: the physical-line audit and the text-column check of a 12,808-row CSV (the
  size of the default dataset), and the finite-weights check after an epoch of a
  22.7M-parameter encoder (MiniLM's size).
* atomic write: a 300 kB report written through a temporary file and a rename against
  ``Path.write_text``.

The per-run total is then projected onto the default run (its stage count and wall time
are arguments: ``--stages 80 --wall-s 720 --epochs 20``), as a share of its wall time.

Run: ``python benchmarks/hardening_overhead.py [--repeats 200]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path


def per_call(fn, repeats: int) -> float:
    """Median seconds of ``fn()`` over ``repeats`` calls (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--stages", type=int, default=80, help="stages of the default run")
    ap.add_argument("--wall-s", type=float, default=720.0, help="wall time of the default run")
    ap.add_argument("--epochs", type=int, default=20, help="torch epochs of the default run")
    args = ap.parse_args()

    import pandas as pd
    import torch

    from greennlp.config import MeasureConfig
    from greennlp.data.sources import check_text_column, line_audit
    from greennlp.files import write_text
    from greennlp.measure import Footprint, tracker
    from greennlp.run_lock import RunLock

    folder = Path(tempfile.mkdtemp())
    out: dict[str, float] = {}

    def lock_cycle() -> None:
        lock = RunLock(folder / "run")
        lock.acquire()
        lock.release()
    out["lock_acquire_release_ms"] = per_call(lock_cycle, args.repeats) * 1e3
    fd = os.open(folder / "beat", os.O_RDWR | os.O_CREAT)
    out["heartbeat_ms"] = per_call(lambda: os.utime(fd), args.repeats * 10) * 1e3
    os.close(fd)

    fp = Footprint.from_config(MeasureConfig())

    def plain() -> None:
        with tracker.track("s", footprint=fp):
            pass

    def with_progress() -> None:
        with tracker.track("s", footprint=fp, progress_file=folder / "p.json"):
            pass
    a, b = [], []
    for _ in range(args.repeats):  # alternated, so drift hits both alike
        a.append(per_call(plain, 1))
        b.append(per_call(with_progress, 1))
    out["track_ms"] = statistics.median(a) * 1e3
    out["track_with_progress_ms"] = statistics.median(b) * 1e3
    result = tracker.StageResult(name="s")
    t0, c0 = time.perf_counter(), 0.0
    backends = tracker._start_all(fp.backends)
    out["progress_snapshot_ms"] = per_call(
        lambda: write_text(folder / "p.json", tracker._progress(
            tracker._totals(result, t0, c0, backends, fp), None)), args.repeats) * 1e3

    rows = 12_808
    frame = pd.DataFrame({"text": [f"a short critic snippet number {i}, fresh or not" for i in
                                   range(rows)], "label": ["fresh", "rotten"] * (rows // 2)})
    csv = folder / "d.csv"
    frame.to_csv(csv, index=False)
    read = pd.read_csv(csv, dtype=str, keep_default_na=False)
    out["line_audit_ms"] = per_call(lambda: line_audit(csv, read), 20) * 1e3
    out["text_check_ms"] = per_call(lambda: check_text_column(read["text"], "text", "d"), 20) * 1e3
    out["read_csv_ms"] = per_call(lambda: pd.read_csv(csv, dtype=str, keep_default_na=False),
                                  20) * 1e3
    from greennlp.train.loop import _finite

    encoder = torch.nn.ParameterList([torch.nn.Parameter(torch.randn(n)) for n in
                                      [384 * 384] * 150 + [30522 * 384]])
    out["params_millions"] = sum(p.numel() for p in encoder.parameters()) / 1e6
    out["finite_weights_check_ms"] = per_call(lambda: _finite(encoder), 20) * 1e3

    report = "x" * 300_000
    out["atomic_write_ms"] = per_call(lambda: write_text(folder / "r.html", report), 100) * 1e3
    out["plain_write_ms"] = per_call(lambda: (folder / "r2.html").write_text(report),
                                     100) * 1e3

    per_run_s = (out["lock_acquire_release_ms"]
                 + args.stages * (out["track_with_progress_ms"] - out["track_ms"])
                 + args.wall_s / 5.0 * out["heartbeat_ms"]
                 + args.wall_s / tracker.PROGRESS_EVERY_S * out["progress_snapshot_ms"]
                 + args.epochs * out["finite_weights_check_ms"]
                 + 4 * (out["atomic_write_ms"] - out["plain_write_ms"])) / 1e3
    out["default_run_overhead_s"] = per_run_s
    out["default_run_overhead_percent"] = 100 * per_run_s / args.wall_s
    print(json.dumps({k: round(v, 4) for k, v in out.items()}, indent=2))


if __name__ == "__main__":
    main()
