"""One writer per run, and a heartbeat that tells a live run from a killed one.

A run folder holds a lock file. The process working on the run holds an exclusive
``flock`` on it (released by the kernel when the process dies, even by ``kill -9``), and
writes its pid, host and start time into it. A daemon thread touches the file every
:data:`HEARTBEAT_S` seconds: the file's modification time is the heartbeat. A second
writer (two ``greennlp run --resume ID`` at once) is refused with one sentence; a lock
left by a dead process is taken over.

A run recorded as ``running`` whose holder is gone (same host: no such process; any
host: no heartbeat for :data:`STALE_S` seconds) was interrupted.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from greennlp.errors import UserError

try:  # POSIX; elsewhere the heartbeat alone tells live from dead
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

LOCK_NAME = ".lock"
HEARTBEAT_S = 5.0  # how often a live run touches its lock file
STALE_S = 30.0  # no heartbeat for this long: the run's process is gone


def _holder(path: Path) -> dict:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def holder_alive(run_dir: str | Path) -> bool:
    """Whether a process holds the run's lock and is alive (checked without locking)."""
    path = Path(run_dir) / LOCK_NAME
    info = _holder(path)
    if not info.get("pid"):
        return False
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return False
    if info.get("host") == socket.gethostname():
        try:
            os.kill(int(info["pid"]), 0)
        except ProcessLookupError:
            return False
        except (PermissionError, ValueError, OverflowError):
            pass  # a process of another user: trust the heartbeat
        else:
            return True
    return age < STALE_S


class RunLock:
    """The exclusive lock of one run folder, with its heartbeat thread.

    ``acquire()`` returns a note when it took over the lock of a process that died
    (None otherwise) and raises :class:`~greennlp.errors.UserError` when a live process
    holds it. ``release()`` is safe to call twice.
    """

    def __init__(self, run_dir: str | Path, run_id: str = "") -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self.run_id = run_id or Path(run_dir).name
        self._fd: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> str | None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            elif holder_alive(self.path.parent):  # pragma: no cover
                raise BlockingIOError
        except BlockingIOError:
            os.close(fd)
            raise UserError(self._in_use(_holder(self.path))) from None
        except BaseException:
            os.close(fd)
            raise
        previous = _holder(self.path)
        mine = {"pid": os.getpid(), "host": socket.gethostname(),
                "since": datetime.now(UTC).isoformat(timespec="seconds")}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(mine).encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat {self.run_id}",
                                        daemon=True)
        self._thread.start()
        if previous.get("pid"):
            return (f"took over the lock of process {previous['pid']} on "
                    f"{previous.get('host', '?')}, which stopped without releasing it")
        return None

    def _in_use(self, info: dict) -> str:
        """The refusal when another process holds the lock; ``info``: what its lock file
        says about the holder (nothing when unreadable, or not written yet)."""
        if not info.get("pid"):
            return (f"Run {self.run_id} is in use by another process, whose lock file "
                    f"{self.path} does not say which (unreadable, or not written yet); wait for "
                    f"it to finish, or stop it and resume again.")
        return (f"Run {self.run_id} is in use by process {info['pid']} on "
                f"{info.get('host') or 'an unnamed host'}"
                + (f" (since {info['since']})" if info.get("since") else "")
                + "; wait for it to finish, or stop it and resume again.")

    def _beat(self) -> None:
        fd = self._fd
        while not self._stop.wait(HEARTBEAT_S):
            try:
                os.utime(fd)
            except OSError:  # a full or read-only disk: the run itself will say so
                pass

    def release(self) -> None:
        """Stop the heartbeat, clear the holder and unlock (the file stays: removing it
        would let two processes lock two different files)."""
        if self._fd is None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        finally:
            os.close(fd)  # closing the descriptor releases the flock
