"""Data-parallel utilities shared by torchrun and Ray Train.

Both launchers start one process per worker with ``RANK`` / ``WORLD_SIZE`` (torchrun
sets the environment; Ray Train initialises the process group itself). Gradients are
averaged by ``DistributedDataParallel``; each rank trains on its own shard of the
batches; scalar metrics are summed across ranks; only rank 0 writes files.
"""

from __future__ import annotations

import datetime
import os
from typing import Sequence

import torch
import torch.distributed as dist

# A rank may wait while rank 0 alone scores models or trains the n-gram model.
TIMEOUT = datetime.timedelta(minutes=60)


def active() -> bool:
    """True inside an initialised process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    """Rank 0, or the only process: the one that writes records and checkpoints."""
    return rank() == 0


def launched_by_torchrun() -> bool:
    """The environment torchrun sets for each of several processes."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def init_from_env() -> bool:
    """Join the process group torchrun describes (gloo on CPU, NCCL on GPUs); idempotent."""
    if not launched_by_torchrun() or (dist.is_available() and dist.is_initialized()):
        return active()
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend, timeout=TIMEOUT)
    return active()


def barrier() -> None:
    if active():
        dist.barrier()


def sum_across(values: Sequence[float]) -> list[float]:
    """Element-wise sum over ranks (the identity on one process)."""
    if not active():
        return [float(v) for v in values]
    t = torch.tensor([float(v) for v in values], dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def broadcast(obj):
    """Rank 0's ``obj`` on every rank."""
    if not active():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def wrap(module: torch.nn.Module) -> torch.nn.Module:
    """``DistributedDataParallel(module)`` inside a process group, else ``module``."""
    if not active():
        return module
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(module)


def threads_per_rank(cpus: int) -> int:
    """CPU threads for each local process, so ranks do not oversubscribe the cores."""
    local = int(os.environ.get("LOCAL_WORLD_SIZE", world_size()))
    return max(1, cpus // max(1, local))
