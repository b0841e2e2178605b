"""``track(stage)``: wall time, CPU time, energy, CO2e and money for a block of code.

Usage::

    footprint = Footprint.from_config(cfg.measure)
    with track("train:transformer", record, footprint) as stage:
        ...                       # the work
        stage.metrics["epochs"] = 3
    # the StageResult is now in record.stages, priced, and the record is saved

Facility energy = IT energy x PUE; CO2e = facility energy x grid intensity;
cost = wall hours x price per hardware-hour. Measurement never crashes the job: a
failing backend is recorded as missing with its reason.

With a ``progress_file``, the running totals of the stage are saved there every
:data:`PROGRESS_EVERY_S` seconds (and its final totals when it fails): a stage killed
mid-way (``kill -9``, Ctrl-C, a crash) and run again adds what the earlier attempts cost
to its own, so the recorded cost includes the work done before the kill.
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from greennlp.files import write_text
from greennlp.measure import energy, tables
from greennlp.record import RunRecord, StageResult, utc_now

PROGRESS_EVERY_S = 10.0  # how often a stage's running totals are saved
SUMMED = ("duration_s", "cpu_time_s", "energy_kwh", "co2_kg", "cost_usd")


@dataclass
class Footprint:
    """How energy is read and how it is turned into CO2e and money."""

    intensity_g_per_kwh: float
    intensity_source: str
    pue: float = 1.0
    price_per_hour_usd: float = 0.0
    price_source: str = ""
    backends: list = field(default_factory=list)
    unmeasured: dict[str, str] = field(default_factory=dict)  # component -> why not, and the fix

    @classmethod
    def from_config(cls, cfg) -> "Footprint":
        """Build from a :class:`greennlp.config.MeasureConfig`."""
        intensity, source = tables.carbon_intensity(cfg.region)
        backends, unmeasured = energy.choose_backends(cfg.cpu_watts_per_thread)
        return cls(intensity_g_per_kwh=intensity, intensity_source=source, pue=cfg.pue,
                   price_per_hour_usd=cfg.price_per_hour_usd, price_source=cfg.price_source,
                   backends=backends, unmeasured=unmeasured)

    def describe(self) -> dict:
        """The footprint section of a run record (what every number was derived from)."""
        return {
            "carbon_intensity_g_per_kwh": self.intensity_g_per_kwh,
            "carbon_intensity_source": self.intensity_source,
            "pue": self.pue,
            "price_per_hour_usd": self.price_per_hour_usd,
            "price_source": self.price_source,
            "energy_backends": {b.component: type(b).__name__ for b in self.backends},
            **({"unmeasured": dict(self.unmeasured)} if self.unmeasured else {}),
        }

    def co2_kg(self, energy_kwh: float | None) -> float | None:
        """CO2e in kg for a facility energy in kWh."""
        return None if energy_kwh is None else energy_kwh * self.intensity_g_per_kwh / 1000.0

    def cost_usd(self, duration_s: float) -> float:
        """Money for holding the hardware for ``duration_s`` seconds."""
        return duration_s / 3600.0 * self.price_per_hour_usd


def _start_all(backends: list) -> list:
    started = []
    for b in backends:
        try:
            b.start()
            started.append(b)
        except Exception as exc:  # a backend that cannot start is reported, not fatal
            started.append(_Failed(b.component, f"{type(b).__name__} failed to start: {exc}"))
    return started


@dataclass
class _Failed:
    component: str
    reason: str

    def start(self) -> None:  # pragma: no cover - never started
        pass

    def stop(self) -> energy.Reading:
        return energy.Reading(self.component, None, "missing", {"error": self.reason})


def _stop_all(backends: list) -> list[energy.Reading]:
    readings = []
    for b in backends:
        try:
            readings.append(b.stop())
        except Exception as exc:
            readings.append(energy.Reading(b.component, None, "missing", {"error": str(exc)}))
    return readings


def _settle_progress(path: Path, result: StageResult, earlier: dict | None) -> None:
    """A finished stage needs no progress file; a failed one leaves its totals there for
    the next attempt."""
    try:
        if result.status == "failed":
            write_text(path, _progress(result, earlier))
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass


def fill_footprint(result: StageResult, readings: list[energy.Reading], fp: Footprint) -> None:
    """Put energy, CO2e and cost onto a stage result."""
    it_kwh = None if any(r.kwh is None for r in readings) else sum(r.kwh for r in readings)
    result.energy_kwh = None if it_kwh is None else it_kwh * fp.pue
    result.energy_method = "; ".join(f"{r.component}: {r.method}" for r in readings)
    result.energy_detail = {r.component: dict(r.detail, kwh=r.kwh, method=r.method)
                            for r in readings}
    result.energy_detail["pue"] = fp.pue
    result.co2_kg = fp.co2_kg(result.energy_kwh)
    result.cost_usd = fp.cost_usd(result.duration_s)


def _totals(result: StageResult, t0: float, c0: float, backends: list,
            footprint: Footprint | None) -> StageResult:
    """``result`` with its duration, CPU time and footprint measured up to now."""
    result.duration_s = time.perf_counter() - t0
    result.cpu_time_s = max(0.0, energy.process_cpu_seconds() - c0)
    if footprint is not None:
        fill_footprint(result, _stop_all(backends), footprint)  # stop() only reads
    return result


def add_earlier(result: StageResult, earlier: dict | None) -> None:
    """Add the cost of interrupted earlier attempts (a progress file) to ``result``."""
    if not earlier:
        return
    for key in SUMMED:
        a, b = getattr(result, key), earlier.get(key)
        setattr(result, key, None if a is None or b is None else a + b)
    result.energy_detail["earlier_attempts"] = {
        "attempts": int(earlier.get("attempts", 1)),
        **{key: earlier.get(key) for key in SUMMED},
        "how": "running totals saved by the interrupted attempts (at most "
               f"{PROGRESS_EVERY_S:g} s of work each is missing)"}


def _progress(result: StageResult, earlier: dict | None) -> str:
    attempts = int((earlier or {}).get("attempts", 0)) + 1
    return json.dumps({"stage": result.name, "attempts": attempts,
                       **{key: getattr(result, key) for key in SUMMED}})


def _read_progress(path: Path | None) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path else None
    except (OSError, ValueError):
        return None


class _ProgressSaver:
    """A daemon thread saving a stage's running totals every ``PROGRESS_EVERY_S`` s."""

    def __init__(self, path: Path, snapshot: Callable[[], str]) -> None:
        self.path, self.snapshot, self._stop = path, snapshot, threading.Event()
        self._thread = threading.Thread(target=self._loop, name="stage progress", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(PROGRESS_EVERY_S):
            try:
                write_text(self.path, self.snapshot())
            except (OSError, ValueError, RuntimeError):  # a full disk: the stage will say so
                continue

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)


@contextmanager
def track(name: str, record: RunRecord | None = None, footprint: Footprint | None = None,
          on_finish: Callable[[RunRecord], None] | None = None,
          progress_file: str | Path | None = None) -> Iterator[StageResult]:
    """Measure the enclosed block as stage ``name``.

    Parameters
    ----------
    name
        Stage name, e.g. ``"data"`` or ``"train:transformer"``.
    record
        If given, the finished :class:`StageResult` is added to it (also on failure).
    footprint
        Energy backends and conversion factors; without one, only time is measured.
    on_finish
        Called with the record after the stage is added (the pipeline saves there).
    progress_file
        Where the running totals are saved while the stage runs; the totals an earlier,
        interrupted attempt left there are added to this attempt's.

    Yields
    ------
    StageResult
        Fill ``metrics`` and ``artifacts`` inside the block.
    """
    result = StageResult(name=name, started_at=utc_now())
    path = Path(progress_file) if progress_file else None
    earlier = _read_progress(path)
    backends = _start_all(footprint.backends) if footprint else []
    t0, c0 = time.perf_counter(), energy.process_cpu_seconds()
    saver = None
    if path is not None:
        def snapshot() -> str:
            partial = _totals(StageResult(name=name), t0, c0, backends, footprint)
            add_earlier(partial, earlier)
            return _progress(partial, earlier)
        saver = _ProgressSaver(path, snapshot)
    try:
        yield result
    except BaseException as exc:
        result.status = "failed"
        result.error = f"{type(exc).__name__}: {exc}"
        import traceback  # only on failure: the module costs ~10 ms to import

        result.metrics["traceback_tail"] = traceback.format_exc().splitlines()[-3:]
        raise
    finally:
        if saver is not None:
            saver.stop()
        _totals(result, t0, c0, backends, footprint)
        add_earlier(result, earlier)
        if path is not None:
            _settle_progress(path, result, earlier)
        if record is not None:
            record.add_stage(result)
            if on_finish is not None:
                on_finish(record)
