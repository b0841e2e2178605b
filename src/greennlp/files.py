"""Writing files so that a crash, a kill or a full disk never leaves half an artifact.

Every artifact (record, reports, cards, model folders, checkpoints) is written to a
temporary name next to its final place and renamed over it when complete: a reader sees
the old file or the new one, never a truncated one. When writing fails, the temporary
file is removed. :func:`storage_problem` turns the errors of a full, read-only or
unwritable disk into one sentence for the user.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# errno values that mean "the disk or folder cannot take this write": the user can fix them
STORAGE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR,
                  errno.EDQUOT, errno.EISDIR, errno.EEXIST, errno.ENAMETOOLONG}
# the same problems as other libraries word them (sqlite3, torch's writers)
_STORAGE_TEXTS = ("no space left", "read-only file system", "readonly database",
                  "disk i/o error", "unable to open database file", "permission denied",
                  "not a directory", "database or disk is full", "disk quota exceeded")


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync-free rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        _remove(Path(tmp))
        raise
    return path


@contextmanager
def atomic_folder(folder: str | Path) -> Iterator[Path]:
    """A temporary folder that replaces ``folder`` when the block finishes without error.

    Usage: ``with atomic_folder(dir / "final") as tmp: model.save(tmp)``. On an error the
    temporary folder is removed and ``folder`` keeps what it held before.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".tmp"))
    try:
        tmp.chmod(folder.parent.stat().st_mode & 0o777)  # its parent's, not mkdtemp's 0700
        yield tmp
        old = folder.with_name(f".{folder.name}.old")
        _remove(old)
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        _remove(old)
    except BaseException:
        _remove(tmp)
        raise


def sweep_temporaries(folder: str | Path) -> int:
    """Remove what writers killed mid-write (``kill -9``, a power cut) left under
    ``folder``: the temporary files and folders of :func:`write_bytes` and
    :func:`atomic_folder` (``.NAME.*.tmp``); a folder whose replacement was cut short
    between its two renames gets its previous version back (``.NAME.old``). Only while no
    one else writes there (a run's lock held). Returns how many entries were settled."""
    found = sorted((p for p in Path(folder).rglob(".*") if p.name.endswith((".tmp", ".old"))),
                   key=lambda p: len(p.parts))
    settled = 0
    for path in found:
        if not path.exists() and not path.is_symlink():  # inside one removed before
            continue
        final = path.with_name(path.name[1:-len(".old")])
        if path.name.endswith(".old") and not final.exists():
            path.rename(final)
        else:
            _remove(path)
        settled += 1
    return settled


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass


def storage_problem(exc: BaseException) -> str | None:
    """One sentence for an error of a full, read-only or unwritable disk, else None.

    Follows the chain of causes (libraries often wrap the OSError they got).
    """
    seen = 0
    while exc is not None and seen < 8:
        seen += 1
        text = str(exc).lower()
        code = getattr(exc, "errno", None)
        if isinstance(exc, OSError) and code in STORAGE_ERRNOS or \
                any(t in text for t in _STORAGE_TEXTS):
            where = getattr(exc, "filename", None)
            where = f" {where}" if where else ""
            if code == errno.ENOSPC or "space" in text or "full" in text or "quota" in text:
                return (f"The disk is full: could not write{where}; free some space (or give "
                        f"another --output-dir / output_dir) and run again.")
            if code == errno.EROFS or "read-only" in text or "readonly" in text:
                return (f"The output folder is on a read-only file system: could not write"
                        f"{where}; give a writable output_dir (or --output-dir).")
            if code == errno.ENOTDIR or "not a directory" in text:
                return (f"Cannot write{where}: part of the path is a file, not a folder; give "
                        f"an output_dir that is a folder.")
            return (f"Cannot write{where} ({exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0]}); "
                    f"give a writable output_dir (or --output-dir), or fix its permissions.")
        exc = exc.__cause__ or exc.__context__
    return None
