"""Writing files so that a crash, a kill or a full disk never leaves half an artifact.

Every artifact (record, reports, cards, model folders, checkpoints) is written to a
temporary name next to its final place and renamed over it when complete: a reader sees
the old file or the new one, never a truncated one. Files and folders get the mode a
plain write would give them (0666 / 0777 less the umask), not the 0600 / 0700 of
temporary files. When writing fails, the temporary
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
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _naming(exc, path)
    try:
        os.fchmod(fd, 0o666 & ~umask())  # mkstemp's 0600: the mode a plain write would give
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException as exc:
        _remove(Path(tmp))
        raise _naming(exc, path)
    return path


def _naming(exc: BaseException, path: Path) -> BaseException:
    """``exc``, naming ``path`` when it names no file or only the temporary one (the user
    knows the file, not its temporary name): the sentence of a full disk says where."""
    if isinstance(exc, OSError) and (not exc.filename or
                                     Path(str(exc.filename)).name.startswith(f".{path.name}.")):
        exc.filename = str(path)
    return exc


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
        tmp.chmod(0o777 & ~umask())  # mkdtemp's 0700: the mode a plain mkdir would give
        yield tmp
        for path in tmp.rglob("*"):  # libraries that write 0600 (safetensors) included
            plain_mode(path)
        old = folder.with_name(f".{folder.name}.old")
        _remove(old)
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        _remove(old)
    except BaseException:
        _remove(tmp)
        raise


def plain_mode(path: str | Path) -> Path:
    """Give ``path`` the mode a plain write (a file) or mkdir (a folder) would: 0666 /
    0777 less the umask (execute bits of a file kept where the umask allows them).
    Symbolic links are left alone."""
    path = Path(path)
    if path.is_symlink():
        return path
    mask = umask()
    if path.is_dir():
        path.chmod(0o777 & ~mask)
    else:
        path.chmod((0o666 | (path.stat().st_mode & 0o111)) & ~mask)
    return path


def umask() -> int:
    """The process's umask, read without changing it (Linux: /proc/self/status; elsewhere
    set and restored at once)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


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


OUTPUT_DIR_SETTING = "output_dir (or --output-dir)"


def storage_problem(exc: BaseException, setting: str = OUTPUT_DIR_SETTING) -> str | None:
    """One sentence for an error of a full, read-only or unwritable disk, else None.

    Follows the chain of causes (libraries often wrap the OSError they got). ``setting``
    is what the user gave for the place that could not be written (``--out`` for the
    commands that write where it says).
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
                        f"another {setting}) and run again.")
            if code == errno.EROFS or "read-only" in text or "readonly" in text:
                return (f"The output folder is on a read-only file system: could not write"
                        f"{where}; give a writable {setting}.")
            a_file = code == errno.EEXIST and where and Path(where.strip()).is_file()
            if code == errno.ENOTDIR or "not a directory" in text or a_file:
                return (f"Cannot write{where}: part of the path is a file, not a folder; give "
                        f"another {setting}.")
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else \
                str(exc).splitlines()[0]
            return f"Cannot write{where} ({why}); give a writable {setting}, or fix its permissions."
        exc = exc.__cause__ or exc.__context__
    return None


def failed_path(exc: BaseException) -> str | None:
    """The file name an OSError in ``exc``'s chain of causes names, if any."""
    seen = 0
    while exc is not None and seen < 8:
        seen += 1
        if isinstance(exc, OSError) and exc.filename:
            return str(exc.filename)
        exc = exc.__cause__ or exc.__context__
    return None
