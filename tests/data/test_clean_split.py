import pandas as pd
import pytest

from greennlp.config import DataConfig
from greennlp.data import prepare
from greennlp.data.clean import clean, normalise_text
from greennlp.data.split import make_splits, subsample
from greennlp.data.stats import leakage
from greennlp.errors import UserError


def test_clean_counts_duplicates_and_conflicts():
    frame = pd.DataFrame({"text": ["good  film", "good film", "bad", "bad", "meh", "   "],
                          "label": ["p", "p", "n", "p", "n", "n"]})
    out, report = clean(frame)
    assert report["empty_dropped"] == 1
    assert report["duplicate_texts"] == 2 and report["duplicate_rows"] == 2
    assert report["conflict_texts"] == 1 and report["conflict_rows"] == 2
    assert sorted(out["text"]) == ["good film", "meh"]
    assert report["conflict_examples"][0] == {"text": "bad", "labels": ["n", "p"]}


def test_clean_can_keep_everything():
    frame = pd.DataFrame({"text": ["a", "a", "b", "b"], "label": ["x", "x", "x", "y"]})
    out, _ = clean(frame, drop_duplicates=False, drop_conflicts=False)
    assert len(out) == 4


def test_normalise_text():
    assert normalise_text("e\u0301 \n x") == "\u00e9 x"


def _frame(frame):
    return frame.rename(columns={"movie": "group", "date": "time"})


def test_group_split_keeps_groups_apart(frame):
    splits = make_splits(_frame(frame), DataConfig(split="group"), seed=0)
    groups = [set(splits[n]["group"]) for n in ("train", "dev", "test")]
    assert not (groups[0] & groups[1]) and not (groups[0] & groups[2]) and not (groups[1] & groups[2])
    assert splits.info["groups_shared_train_test"] == 0
    assert sum(splits.info["sizes"].values()) == len(frame)


def test_stratified_split_keeps_proportions_and_is_seeded(frame):
    cfg = DataConfig(split="stratified", test_fraction=0.25, dev_fraction=0.25)
    a = make_splits(_frame(frame), cfg, seed=1)
    b = make_splits(_frame(frame), cfg, seed=1)
    c = make_splits(_frame(frame), cfg, seed=2)
    assert a.test["text"].tolist() == b.test["text"].tolist() != c.test["text"].tolist()
    assert len(a.test) == 60 and (a.test["label"] == "pos").mean() == 0.5


def test_time_split_puts_the_latest_in_test(frame):
    splits = make_splits(_frame(frame), DataConfig(split="time"), seed=0)
    assert pd.to_datetime(splits.train["time"]).max() <= pd.to_datetime(splits.test["time"]).min()


def test_auto_uses_groups_when_known(frame):
    assert make_splits(_frame(frame), DataConfig(), seed=0).info["method"] == "group"
    assert make_splits(frame[["text", "label"]], DataConfig(), seed=0).info["method"] == "stratified"


def test_single_class_and_tiny_class_are_user_errors(frame):
    one = frame.assign(label="pos")[["text", "label"]]
    with pytest.raises(UserError, match="single class"):
        make_splits(one, DataConfig(), seed=0)
    tiny = pd.concat([frame[["text", "label"]],
                      pd.DataFrame({"text": ["x1", "x2"], "label": ["rare", "rare"]})])
    with pytest.raises(UserError, match="Class 'rare' has only 2 examples"):
        make_splits(tiny, DataConfig(), seed=0)


def test_group_split_needs_a_group_column(frame):
    with pytest.raises(UserError, match="needs a group column"):
        make_splits(frame[["text", "label"]], DataConfig(split="group"), seed=0)


def test_subsample_is_stratified(frame):
    small = subsample(frame, 100, seed=0)
    assert len(small) == 100 and (small["label"] == "pos").sum() == 50


def test_leakage_finds_near_exact_copies(frame):
    splits = make_splits(_frame(frame), DataConfig(split="stratified"), seed=0)
    splits.test.loc[0, "text"] = splits.train.loc[0, "text"].upper() + "!"
    found = leakage(splits)
    assert found["test_exact_in_train"] == 0 and found["test_loose_in_train"] == 1


def test_prepare_reports_everything(csv_path):
    splits, summary = prepare(DataConfig(source=str(csv_path), group_column="movie"), seed=0)
    assert summary["split"]["method"] == "group"
    assert summary["stats"]["labels"] == {"neg": 120, "pos": 120}
    assert summary["cleaning"]["rows_out"] == 240
    assert summary["stats"]["length"]["words"]["median"] == 8


def test_running_text_keeps_line_breaks_and_has_no_conflicts():
    frame = pd.DataFrame({"text": ["hi  there\n\n you", "hi there\nyou", "  \n ", "one\ntwo"]})
    out, report = clean(frame, keep_lines=True)
    assert out["text"].tolist() == ["hi there\nyou", "one\ntwo"]
    assert report == {"rows_in": 4, "empty_dropped": 1, "duplicate_texts": 1,
                      "duplicate_rows": 1, "duplicate_rows_dropped": 1, "rows_out": 2}


def test_a_block_split_of_labelled_data_keeps_whole_blocks_and_every_class(frame):
    cfg = DataConfig(split="blocks", block_documents=10, max_examples=150)
    splits, data = prepare_frame(frame, cfg)
    for name in ("train", "dev", "test"):  # row i of the frame ends with " i"
        blocks = splits[name]["text"].str.rsplit(" ", n=1).str[1].astype(int) // 10
        assert (blocks.value_counts() == 10).all(), name
    assert data["stats"]["size"] == 150 and data["split"]["block_documents"] == 10
    assert set(data["stats"]["labels"]) == {"neg", "pos"}
    kept = subsample(frame, 95, 0, block_rows=10)  # whole blocks: the one that crosses 95 too
    blocks = kept["text"].str.rsplit(" ", n=1).str[1].astype(int) // 10
    assert len(kept) == 100 and (blocks.value_counts() == 10).all()


def prepare_frame(frame, cfg, **needs):
    """:func:`prepare` on a frame written to a CSV file next to nothing else."""
    import tempfile
    from dataclasses import replace
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.csv"
        frame.to_csv(path, index=False)
        return prepare(replace(cfg, source=str(path)), 0, **needs)


def test_given_dev_file_of_unlabelled_text_and_the_rest_by_blocks(tmp_path):
    docs = [f"scene {i // 5}\nline {i}" for i in range(200)]
    (tmp_path / "train.txt").write_text("\n\n".join(docs) + "\n")
    (tmp_path / "dev.txt").write_text("\n\n".join(f"dev {i}\nline" for i in range(40)) + "\n")
    cfg = DataConfig(source=str(tmp_path / "train.txt"), dev_source=str(tmp_path / "dev.txt"),
                     split="blocks", block_documents=5)
    splits, data = prepare(cfg, 0, labels=False, running_text=True)
    assert len(splits.dev) == 40 and data["split"]["made"] == ["test"]
    assert len(splits.test) == 40 and len(splits.train) == 160  # 20% of 200, whole blocks
    assert all(len({t.split("\n")[0] for t in splits.texts(n)}) * 5 == len(splits[n])
               for n in ("train", "test"))  # every scene of 5 documents on one side
    assert data["cleaning_given"]["dev"]["rows_out"] == 40 and "label" not in splits.dev
