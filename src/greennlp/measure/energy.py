"""Energy backends: one small class per way of knowing (or estimating) energy.

Each backend covers one component (cpu, memory, gpu) and has ``start()`` and
``stop() -> Reading``. A backend never raises from ``stop``: a failed reading comes
back with ``kwh=None`` and the reason, and the record shows it as missing.

Methods, best first:

* ``measured:rapl`` - Intel/AMD RAPL energy counters (CPU package, DRAM), when
  ``/sys/class/powercap`` is readable. Machine-wide: includes other processes.
* ``measured:nvml`` - NVIDIA's cumulative energy counter per GPU.
* ``estimate:tdp`` - CPU-seconds used by this process and its children times the
  power of one hardware thread (package TDP / threads per package, from codecarbon's
  TDP table; 4 W per thread, codecarbon's default, when the CPU is unknown or its
  package size is hidden by a VM). This is TDP x utilisation x time, the formula of
  Green Algorithms (Lannelongue et al. 2021), attributed to this process only.
* ``estimate:memory`` - resident memory x 0.3725 W/GB x time (Green Algorithms).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import psutil

from greennlp.measure import hardware, tables

J_PER_KWH = 3.6e6
DEFAULT_WATTS_PER_THREAD = 4.0  # codecarbon's DEFAULT_POWER_PER_CORE for unknown CPUs
MEMORY_WATTS_PER_GB = 0.3725  # Lannelongue et al. 2021, Green Algorithms
RAPL_ROOT = Path("/sys/class/powercap")


@dataclass
class Reading:
    """Energy of one component over one tracked interval."""

    component: str
    kwh: float | None
    method: str
    detail: dict[str, Any] = field(default_factory=dict)


class EnergyBackend(Protocol):
    """Measures or estimates the energy of one component between start and stop."""

    component: str

    def start(self) -> None: ...

    def stop(self) -> Reading: ...


def _descendants(pid: int) -> list[int]:
    """Live descendant pids, from /proc/<pid>/task/*/children (fast), else psutil."""
    try:
        out, stack = [], [pid]
        while stack:
            current = stack.pop()
            for tid in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{tid}/children") as fh:
                    kids = [int(k) for k in fh.read().split()]
                out += kids
                stack += kids
        return out
    except OSError:  # not Linux, or a kernel without CONFIG_PROC_CHILDREN
        try:
            return [c.pid for c in psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            return []


def process_cpu_seconds() -> float:
    """CPU time of this process, its finished children and its live descendants.

    Finished children count once they are waited for (``os.times``); live ones (Ray
    workers, data-loader processes) are read from /proc.
    """
    t = os.times()
    total = t.user + t.system + t.children_user + t.children_system
    for pid in _descendants(os.getpid()):
        try:
            ct = psutil.Process(pid).cpu_times()
            total += ct.user + ct.system
        except psutil.Error:
            continue
    return total


def cpu_watts_per_thread(override: float | None = None) -> tuple[float, dict[str, Any]]:
    """The power attributed to one busy hardware thread, and how it was obtained."""
    info = hardware.cpuinfo()
    if override is not None:
        return override, {"source": "configured (measure.cpu_watts_per_thread)"}
    match = tables.cpu_tdp(info["model"])
    if match and not info["virtualised"]:
        name, tdp = match
        threads = max(1, info["threads_per_package"])
        return tdp / threads, {"source": f"TDP table (codecarbon): {name}, {tdp:g} W / "
                                         f"{threads} threads"}
    why = ("CPU model not in the TDP table" if not match else
           "virtual machine: the host package's thread count is hidden")
    return DEFAULT_WATTS_PER_THREAD, {
        "source": f"default {DEFAULT_WATTS_PER_THREAD:g} W per thread (codecarbon's default); "
                  f"{why}: {info['model']}"}


class TdpEstimateCpu:
    """CPU energy estimated from CPU-seconds used and watts per thread."""

    component = "cpu"

    def __init__(self, watts_per_thread: float | None = None) -> None:
        self.watts, self.detail = cpu_watts_per_thread(watts_per_thread)
        self._cpu0 = 0.0

    def start(self) -> None:
        self._cpu0 = process_cpu_seconds()

    def stop(self) -> Reading:
        cpu_s = max(0.0, process_cpu_seconds() - self._cpu0)
        detail = dict(self.detail, cpu_s=round(cpu_s, 3), watts_per_thread=self.watts)
        return Reading("cpu", self.watts * cpu_s / J_PER_KWH, "estimate:tdp", detail)


class MemoryEstimate:
    """Memory energy estimated from resident set size and 0.3725 W/GB."""

    component = "memory"

    def __init__(self) -> None:
        self._proc = psutil.Process()
        self._t0 = 0.0
        self._rss0 = 0

    def _rss(self) -> int:
        try:
            return self._proc.memory_info().rss
        except psutil.Error:
            return 0

    def start(self) -> None:
        self._t0, self._rss0 = time.perf_counter(), self._rss()

    def stop(self) -> Reading:
        wall = time.perf_counter() - self._t0
        gb = max(self._rss0, self._rss()) / 1e9
        kwh = MEMORY_WATTS_PER_GB * gb * wall / J_PER_KWH
        return Reading("memory", kwh, "estimate:memory",
                       {"rss_gb": round(gb, 3), "watts_per_gb": MEMORY_WATTS_PER_GB,
                        "source": "Green Algorithms (Lannelongue et al. 2021)"})


class RaplEnergy:
    """RAPL counters of every package (component cpu) or DRAM domain (memory)."""

    def __init__(self, component: str = "cpu") -> None:
        self.component = component
        prefix = "package" if component == "cpu" else "dram"
        self.domains = [d for d in sorted(RAPL_ROOT.glob("intel-rapl:*"))
                        if _read(d / "name", str).startswith(prefix)
                        and _read(d / "energy_uj", int) is not None]
        self._start: list[int | None] = []

    @property
    def available(self) -> bool:
        return bool(self.domains)

    def start(self) -> None:
        self._start = [_read(d / "energy_uj", int) for d in self.domains]

    def stop(self) -> Reading:
        total_uj = 0
        for d, e0 in zip(self.domains, self._start):
            e1 = _read(d / "energy_uj", int)
            if e0 is None or e1 is None:
                return Reading(self.component, None, "measured:rapl", {"error": f"{d} unreadable"})
            span = _read(d / "max_energy_range_uj", int) or 2**32
            total_uj += (e1 - e0) % span  # the counter wraps around
        return Reading(self.component, total_uj / 1e6 / J_PER_KWH, "measured:rapl",
                       {"domains": [str(d.name) for d in self.domains], "scope": "machine-wide"})


class NvmlEnergy:
    """NVIDIA GPU energy from NVML's cumulative counter (Volta and newer)."""

    component = "gpu"

    def __init__(self) -> None:
        self.handles: list[Any] = []
        self._start: list[int] = []
        self.unavailable_reason = ""  # set when an NVIDIA driver is there but cannot be read
        if not Path("/dev/nvidiactl").exists():  # no NVIDIA driver: skip the import
            return
        try:
            import pynvml
        except ImportError:
            self.unavailable_reason = ("an NVIDIA GPU is present but its energy is not measured: "
                                       "install the gpu extra (pip install 'greennlp[gpu]', "
                                       "which brings nvidia-ml-py)")
            return
        try:

            pynvml.nvmlInit()
            self._nvml = pynvml
            count = pynvml.nvmlDeviceGetCount()
            handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
            for h in handles:
                pynvml.nvmlDeviceGetTotalEnergyConsumption(h)  # raises if unsupported
            self.handles = handles
        except Exception:  # no driver, no GPU, no counter: the backend is unavailable
            self.handles = []

    @property
    def available(self) -> bool:
        return bool(self.handles)

    def start(self) -> None:
        self._start = [self._nvml.nvmlDeviceGetTotalEnergyConsumption(h) for h in self.handles]

    def stop(self) -> Reading:
        try:
            end = [self._nvml.nvmlDeviceGetTotalEnergyConsumption(h) for h in self.handles]
        except Exception as exc:
            return Reading("gpu", None, "measured:nvml", {"error": str(exc)})
        mj = sum(e - s for s, e in zip(self._start, end))
        return Reading("gpu", mj / 1e3 / J_PER_KWH, "measured:nvml",
                       {"gpus": len(self.handles), "scope": "whole GPU, all processes"})


def _read(path: Path, kind: type) -> Any:
    try:
        text = path.read_text().strip()
        return kind(text)
    except (OSError, ValueError):
        return None


def default_backends(watts_per_thread: float | None = None) -> list[EnergyBackend]:
    """The best available backend for each component on this machine."""
    return choose_backends(watts_per_thread)[0]


def choose_backends(watts_per_thread: float | None = None
                    ) -> tuple[list[EnergyBackend], dict[str, str]]:
    """The best available backend for each component, and the components that could be
    measured here but are not (with the reason and the fix, e.g. a missing extra)."""
    rapl_cpu, rapl_dram = RaplEnergy("cpu"), RaplEnergy("memory")
    backends: list[EnergyBackend] = [
        rapl_cpu if rapl_cpu.available else TdpEstimateCpu(watts_per_thread),
        rapl_dram if rapl_dram.available else MemoryEstimate(),
    ]
    nvml = NvmlEnergy()
    if nvml.available:
        backends.append(nvml)
    unmeasured = {"gpu": nvml.unavailable_reason} if nvml.unavailable_reason else {}
    return backends, unmeasured
