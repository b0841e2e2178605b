"""The one model-folder writer: every family's save goes through it, whole or not at all."""

from __future__ import annotations

import json

import pytest

from greennlp import files
from greennlp.config import TfidfConfig
from greennlp.errors import UserError
from greennlp.models import load_model
from greennlp.models.checkpoints import META_NAME, write_folder
from greennlp.models.tfidf import TfidfLogReg
from tests.compress.conftest import tiny_splits


@pytest.fixture(scope="module")
def tfidf():
    splits = tiny_splits()
    return TfidfLogReg(TfidfConfig()).fit(splits.train["text"], splits.train["label"])


def _fail(folder):
    (folder / "half.bin").write_bytes(b"x")
    raise OSError("disk full")


def test_a_failed_save_keeps_the_old_model_and_leaves_no_temporary_folder(tfidf, tmp_path):
    folder = tfidf.save(tmp_path / "m")
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(OSError, match="disk full"):
        write_folder(folder, {"family": "tfidf_logreg"}, files=_fail)
    assert sorted(p.name for p in folder.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["m"]
    assert load_model(folder).labels == tfidf.labels


def test_saving_again_replaces_the_model_and_names_its_family(tfidf, tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()  # an empty folder is a place for a model
    tfidf.save(folder)
    (folder / "stale.bin").write_bytes(b"from an earlier model")
    tfidf.save(folder)
    assert not (folder / "stale.bin").exists()
    assert json.loads((folder / META_NAME).read_text())["family"] == "tfidf_logreg"
    assert oct(folder.stat().st_mode & 0o777) == oct(0o777 & ~files.umask())  # as mkdir gives


def test_a_folder_of_other_files_is_refused_and_kept(tfidf, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not a greennlp model; save the model to a new"):
        tfidf.save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine" and not (tmp_path / META_NAME).exists()
    with pytest.raises(ValueError, match="names its family"):
        write_folder(tmp_path / "x", {"labels": []})
