"""The multilingual built-in: a .deb made here is read like Debian's (nothing downloaded);
one integration test fetches the real packages."""

from __future__ import annotations

import io
import tarfile

import pytest

from greennlp.data import builtins, fortunes


def _ar(members: dict[str, bytes]) -> bytes:
    out = b"!<arch>\n"
    for name, data in members.items():
        header = (name + "/").ljust(16) + "0".ljust(12) + "0".ljust(6) + "0".ljust(6) \
            + "100644".ljust(8) + str(len(data)).ljust(10) + "`\n"
        out += header.encode() + data + (b"\n" if len(data) % 2 else b"")
    return out


def make_deb(files: dict[str, str], links: dict[str, str] = ()) -> bytes:
    """A .deb (ar archive) whose data.tar.xz holds ``files`` and symbolic ``links``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as tar:
        for path, text in files.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo("./" + path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for path, target in dict(links).items():
            info = tarfile.TarInfo("./" + path)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return _ar({"debian-binary": b"2.0\n", "control.tar.xz": b"", "data.tar.xz": buffer.getvalue()})


def test_a_deb_gives_its_fortunes_without_indexes_links_rot13_or_escape_codes():
    root = "usr/share/games/fortunes/"
    deb = make_deb({root + "xx/proverbs": "Ein Spruch.\n%\nZwei\nZeilen.\n%\n",
                    root + "xx/proverbs.dat": "\x00\x01binary",
                    root + "xx/off/rude": "Ebg13 grkg.\n%\n",
                    root + "poems": "\x1b[1;31mRed poem\x1b[m\n%\n",
                    "usr/share/doc/fortunes-xx/copyright": "GPL"},
                   links={root + "xx/proverbs.u8": "proverbs"})
    frame = fortunes.fortunes_of_deb(deb, "xx", "fortunes-xx")
    assert frame["text"].tolist() == ["Ein Spruch.", "Zwei\nZeilen.", "Red poem"]
    assert set(frame["language"]) == {"xx"} and set(frame["package"]) == {"fortunes-xx"}
    assert frame["category"].tolist() == ["proverbs", "proverbs", "poems"]


def test_every_language_has_a_pinned_package_and_a_licence():
    sources = fortunes.language_sources()
    assert len(sources) == 12
    assert all(v["license"] and v["source"].startswith("Debian fortunes") for v in sources.values())
    assert all(len(p.sha256) == 64 for p in fortunes.PACKAGES)
    assert builtins.BUILTINS["fortunes"].columns["language"] == "language"


def test_the_built_in_reads_its_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GREENNLP_CACHE", str(tmp_path))
    import pandas as pd

    target = fortunes.cache_file(builtins.cache_dir())
    target.parent.mkdir(parents=True)
    pd.DataFrame({"text": ["a b", "c d"], "language": ["en", "ga"], "category": ["x", "y"],
                  "package": ["p", "q"]}).to_parquet(target)
    frame, spec = builtins.load_builtin("fortunes")
    assert frame["language"].tolist() == ["en", "ga"] and not spec.labelled


@pytest.mark.integration
def test_real_fortunes_fetch(tmp_path, monkeypatch):
    """apt-get downloads the 13 pinned packages; their checksums must match."""
    monkeypatch.setenv("GREENNLP_CACHE", str(tmp_path))
    frame, _ = builtins.load_builtin("fortunes")
    counts = frame["language"].value_counts()
    assert len(counts) == 12
    assert counts["ru"] > 20000 and counts["de"] > 18000 and counts["ga"] == 157
    assert counts["bg"] == 624 and counts.idxmax() == "ru"
    assert not frame["text"].str.contains("\x1b").any()
    assert fortunes.cache_file(builtins.cache_dir()).exists()
