"""What machine are we on: CPU model and threads, memory, GPUs, software versions."""

from __future__ import annotations

import functools
import os
import platform
import sys
from pathlib import Path
from typing import Any

import psutil


@functools.lru_cache(maxsize=1)
def cpuinfo() -> dict[str, Any]:
    """CPU model name, packages, logical CPUs per package and virtualisation flag."""
    text = ""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        pass
    fields: dict[str, str] = {}
    packages: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "physical id":
            packages.add(value)
        fields.setdefault(key, value)
    logical = psutil.cpu_count(logical=True) or os.cpu_count() or 1
    return {
        "model": fields.get("model name") or platform.processor() or "unknown",
        "logical_cpus": logical,
        "physical_cores": psutil.cpu_count(logical=False) or logical,
        "packages": max(1, len(packages)),
        "threads_per_package": int(fields.get("siblings") or logical),
        "virtualised": "hypervisor" in fields.get("flags", "").split(),
    }


def usable_cpus() -> int:
    """CPUs this process may run on (respects affinity masks and containers)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def gpus() -> list[dict[str, Any]]:
    """Visible CUDA GPUs (name, memory); empty without torch or without a GPU."""
    if "torch" not in sys.modules:
        return []
    import torch

    if not torch.cuda.is_available():
        return []
    out = []
    for i in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(i)
        out.append({"name": props.name, "memory_gib": round(props.total_memory / 2**30, 1),
                    "bf16": torch.cuda.is_bf16_supported()})
    return out


def describe_hardware() -> dict[str, Any]:
    """The hardware section of a run record."""
    info = dict(cpuinfo())
    info["usable_cpus"] = usable_cpus()
    info["memory_gib"] = round(psutil.virtual_memory().total / 2**30, 1)
    info["platform"] = platform.platform()
    info["gpus"] = gpus()
    return info


_PACKAGES = ("greennlp", "torch", "transformers", "tokenizers", "scikit-learn", "numpy",
             "pandas", "safetensors", "codecarbon", "onnxruntime", "ray")


def describe_software() -> dict[str, str]:
    """Python and key package versions (missing packages are left out)."""
    from importlib import metadata  # imported here: it costs ~20 ms at start-up

    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out
