"""The multilingual built-in ``fortunes``: short texts in 12 languages from Debian packages.

Debian's ``fortunes-*`` packages hold fortune cookies (quotations, proverbs, jokes) in
many languages, with a real long tail (about 20k Russian texts, 157 Irish). Each package
is fetched with ``apt-get download`` (pinned version and SHA-256) and read as an ``ar``
archive holding ``data.tar.*`` in Python (no ``dpkg`` needed); the texts are the files
under ``usr/share/games/fortunes/``, separated by lines holding ``%``. Left out: the
binary ``.dat`` index files, the ``.u8`` links and every other link, the rot13-encoded
``off/`` folders (offensive texts), and terminal escape codes (Chinese poems are
coloured with them). The parsed corpus is cached under the user's cache directory.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from greennlp.errors import UserError

FORTUNE_ROOT = "usr/share/games/fortunes/"
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b")
SEPARATOR = re.compile(r"(?m)^%[ \t]*$")


@dataclass(frozen=True)
class FortunePackage:
    """One Debian package of fortunes: its language and what its copyright file says."""

    package: str
    version: str
    sha256: str
    language: str  # ISO 639-1 (pt-BR for Brazilian Portuguese)
    license: str


# Debian 12 (bookworm); each licence as the package's copyright file states it.
PACKAGES: tuple[FortunePackage, ...] = (
    FortunePackage("fortunes-min", "1:1.99.1-7.3",
                   "9eed5b45064e41133dae0967cf3a17588ad77c014fcc7bf1527fa3ea48e44d07", "en",
                   "BSD-3-Clause (BSD fortune(6) data)"),
    FortunePackage("fortunes", "1:1.99.1-7.3",
                   "41d0551dc0ff52f875a2ecef7c39da2f672ab468c37e170119f7e0245a9d63c5", "en",
                   "BSD-3-Clause (BSD fortune(6) data)"),
    FortunePackage("fortunes-ru", "1.52-3.1",
                   "2dc76af9c0e02e2926d36f88dcb685bb171fab8677e553a6def41efe8a551cc6", "ru",
                   "GPL-2 or GPL-2+"),
    FortunePackage("fortunes-de", "0.35-1",
                   "03fe7a7912935bd3d4e02e38d79ef32a289097f8718d4488c409595abce067a0", "de",
                   "GPL-2+"),
    FortunePackage("fortunes-es", "1.36",
                   "54636edc1a4384093b68d1666c7e702ce42d1fcc8b5ab402d9646c328dcca899", "es",
                   "texts presumed public domain; the packaging GPL-2+"),
    FortunePackage("fortunes-it", "1.99-4.1",
                   "675df6ecb00c3b67d06b39ab223ff17f1ef1d0ec82a7e40f989356a2eb61a97e", "it",
                   "public domain (stated as freeware, not copyrighted)"),
    FortunePackage("fortunes-pl", "0.0.20130525-3",
                   "39602aece2081a67c9e95ff7f6e8b0b8fc2cce971e920a31d04133d4ac007ad0", "pl",
                   "GPL-2+"),
    FortunePackage("fortunes-cs", "2.0.9-1.1",
                   "5a38a15bcd58c6a2f777a1f2db8d51da901bc3d0147b2db3597c8a1b78acb447", "cs",
                   "GPL-3+ (Czech and some Slovak texts)"),
    FortunePackage("fortunes-zh", "2.98",
                   "211c5ddee59d0ae74ce01cbfd02f7c8714740bae1835d5661eb2254edd739105", "zh",
                   "GPL-3+"),
    FortunePackage("fortunes-eo", "20020729b-1.1",
                   "23e258836bd9c76c47c71f6a365aea469563748fd4c6737bb636328da97302bf", "eo",
                   "public domain (Zamenhof's proverbs; author died 1917), GPL offered for "
                   "the computerized version"),
    FortunePackage("fortunes-br", "20220821",
                   "0a181b5fdf4f9d83dd519c4a50af2e68d88c85d27ab32f665c72e5fc67331a4c", "pt-BR",
                   "GPL-2+"),
    FortunePackage("fortunes-bg", "1.4",
                   "654be0aacc5d932b12a17cbd895e66813e3097f81e761d991c6958591e69825c", "bg",
                   "GPL-1+ for the package as a whole; no separate licence for the texts"),
    FortunePackage("fortunes-ga", "0.10+nmu1",
                   "2c113ea36a2173a9c704e2e5fd7e9d211e2ea44b618f928fc6e843233a5cdbaf", "ga",
                   "BSD (from the BSD fortunes database)"),
)


def ar_members(data: bytes) -> dict[str, bytes]:
    """The members of an ``ar`` archive (a ``.deb`` is one), by name.

    >>> ar_members(b"!<arch>\\n" + b"a.txt/".ljust(48) + b"3".ljust(10) + b"`\\n" + b"hi!\\n")
    {'a.txt': b'hi!'}
    """
    if not data.startswith(b"!<arch>\n"):
        raise ValueError("not an ar archive")
    out, pos = {}, 8
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        name = header[:16].decode("ascii").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip())
        pos += 60
        out[name] = data[pos:pos + size]
        pos += size + size % 2  # members are aligned to even offsets
    return out


def split_fortunes(text: str) -> list[str]:
    """The texts of one fortune file: separated by ``%`` lines, escape codes removed.

    >>> split_fortunes("one\\n%\\n\\x1b[1;31mtwo\\x1b[m\\nlines\\n%\\n")
    ['one', 'two\\nlines']
    """
    docs = (ESCAPES.sub("", d).strip("\n") for d in SEPARATOR.split(text))
    return [d for d in docs if d.strip()]


def fortunes_of_deb(data: bytes, language: str, package: str) -> pd.DataFrame:
    """The fortunes of one ``.deb``: columns text, language, category (the file), package."""
    members = ar_members(data)
    name = next((n for n in members if n.startswith("data.tar")), None)
    if name is None:
        raise ValueError(f"{package}: no data.tar member")
    rows = []
    with tarfile.open(fileobj=io.BytesIO(members[name])) as tar:  # xz or gz
        for info in tar:
            path = info.name.lstrip("./")
            if not info.isreg() or not path.startswith(FORTUNE_ROOT):
                continue  # links (.u8 and others), folders, documentation
            rel = path[len(FORTUNE_ROOT):]
            if rel.endswith((".dat", ".u8")) or "/off/" in f"/{rel}":  # off/: rot13
                continue
            text = tar.extractfile(info).read().decode("utf-8", errors="replace")
            category = rel.rsplit("/", 1)[-1]
            rows += [(doc, language, category, package) for doc in split_fortunes(text)]
    return pd.DataFrame(rows, columns=["text", "language", "category", "package"])


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download(pkg: FortunePackage, folder: Path) -> bytes:
    """The package's ``.deb`` (``apt-get download``), checked against its pinned SHA-256."""
    if shutil.which("apt-get") is None:
        raise UserError(f"The built-in 'fortunes' needs apt-get to download {pkg.package} "
                        f"(Debian or Ubuntu); elsewhere fetch the .deb files by hand and put "
                        f"the corpus in greennlp's cache.")
    proc = subprocess.run(["apt-get", "download", "-q", f"{pkg.package}={pkg.version}"],
                          cwd=folder, capture_output=True, text=True, timeout=600)
    debs = sorted(folder.glob(f"{pkg.package}_*.deb"))
    if proc.returncode != 0 or not debs:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"Could not download {pkg.package}={pkg.version} with apt-get ({last}); "
                        f"run `apt-get update` first, or check the package sources.")
    data = debs[-1].read_bytes()
    if _sha256(data) != pkg.sha256:
        raise UserError(f"Checksum mismatch for {pkg.package}={pkg.version} (got "
                        f"{_sha256(data)[:12]}..., expected {pkg.sha256[:12]}...); the mirror "
                        f"serves another build: update greennlp's pinned fortunes packages.")
    return data


def cache_file(cache: Path) -> Path:
    """Where the parsed corpus is cached under greennlp's ``cache`` folder (keyed by the
    pinned packages)."""
    key = _sha256("".join(p.sha256 for p in PACKAGES).encode())[:12]
    return cache / "files" / f"debian-fortunes-{key}" / "fortunes.parquet"


def load_fortunes(cache: Path, packages: tuple[FortunePackage, ...] = PACKAGES) -> pd.DataFrame:
    """The corpus of every package (cached under ``cache`` after the first download), with
    a column ``package`` naming where each text came from."""
    target = cache_file(cache)
    if packages is PACKAGES and target.exists():
        return pd.read_parquet(target)
    frames = []
    with tempfile.TemporaryDirectory() as tmp:
        for pkg in packages:
            frames.append(fortunes_of_deb(download(pkg, Path(tmp)), pkg.language, pkg.package))
    frame = pd.concat(frames, ignore_index=True)
    if packages is PACKAGES:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        frame.to_parquet(partial, index=False)
        partial.replace(target)
        (target.parent / "packages.json").write_text(json.dumps(
            [p.__dict__ for p in packages], indent=1))
    return frame


def language_sources() -> dict[str, dict[str, str]]:
    """Per language: the packages (with versions) and the licences they state."""
    out: dict[str, dict[str, str]] = {}
    for p in PACKAGES:
        entry = out.setdefault(p.language, {"source": "", "license": ""})
        entry["source"] = "; ".join(filter(None, [entry["source"],
                                                  f"Debian {p.package} {p.version}"]))
        if p.license not in entry["license"]:
            entry["license"] = "; ".join(filter(None, [entry["license"], p.license]))
    return out
