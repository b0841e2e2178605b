"""The dataset's own splits: a test / dev file, a split column, a hub dataset's published
splits (a real `datasets` dataset saved to disk, no hub needed)."""

import pandas as pd
import pytest

from greennlp.config import DataConfig
from greennlp.data import prepare
from greennlp.errors import UserError
from greennlp.report.datasheet import describe_given
from tests.conftest import make_frame


@pytest.fixture
def files(tmp_path):
    frame = make_frame(240)
    frame.iloc[:180].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[180:220].to_csv(tmp_path / "test.csv", index=False)
    frame.iloc[220:].to_csv(tmp_path / "dev.csv", index=False)
    return tmp_path, frame


def test_a_test_file_is_the_test_split_and_dev_is_made_from_train(files):
    folder, frame = files
    splits, summary = prepare(DataConfig(source=str(folder / "train.csv"),
                                         test_source=str(folder / "test.csv")), seed=0)
    assert splits.test["text"].tolist() == frame.iloc[180:220]["text"].tolist()
    assert len(splits.train) + len(splits.dev) == 180
    assert not set(splits.dev["text"]) & set(splits.train["text"])
    info = summary["split"]
    assert info["made"] == ["dev"] and set(info["given"]) == {"train", "test"}
    assert "test" in describe_given(info) and "made by greennlp" in describe_given(info)


def test_dev_and_test_files_leave_all_of_train_for_training(files):
    folder, frame = files
    splits, summary = prepare(DataConfig(source=str(folder / "train.csv"),
                                         test_source=str(folder / "test.csv"),
                                         dev_source=str(folder / "dev.csv")), seed=0)
    assert (len(splits.train), len(splits.dev), len(splits.test)) == (180, 20, 40)
    assert summary["split"]["made"] == []


def test_split_column_names_the_splits(tmp_path):
    frame = make_frame(240).assign(part=["train"] * 160 + ["Validation"] * 30 + ["test"] * 50)
    frame.to_csv(tmp_path / "all.csv", index=False)
    splits, summary = prepare(DataConfig(source=str(tmp_path / "all.csv"), split_column="part"), 0)
    assert (len(splits.train), len(splits.dev), len(splits.test)) == (160, 30, 50)
    assert "part" not in splits.train.columns
    assert summary["split"]["given"]["test"] == "rows with part = test"


def test_leakage_is_checked_across_given_splits(files):
    folder, frame = files
    test = frame.iloc[180:220].copy()
    test.iloc[0, 0] = frame.iloc[0, 0]          # a training text in the given test file
    test.iloc[1, 0] = frame.iloc[225, 0].upper()  # a dev text, in other case
    test.to_csv(folder / "test.csv", index=False)
    _, summary = prepare(DataConfig(source=str(folder / "train.csv"), test_source=str(folder / "test.csv"),
                                    dev_source=str(folder / "dev.csv")), seed=0)
    leak = summary["stats"]["leakage"]
    assert leak["test_exact_in_train"] == 1
    assert (leak["test_exact_in_dev"], leak["test_loose_in_dev"]) == (0, 1)


@pytest.mark.parametrize("change, message", [
    (lambda f: f.rename(columns={"text": "review"}), "lacks the column 'text'"),
    (lambda f: f.assign(label=f["label"].str.upper()), "has the label 'NEG'"),
])
def test_a_test_file_unlike_the_training_file_is_one_sentence(files, change, message):
    folder, frame = files
    change(frame.iloc[180:]).to_csv(folder / "test.csv", index=False)
    with pytest.raises(UserError, match=message) as info:
        prepare(DataConfig(source=str(folder / "train.csv"), test_source=str(folder / "test.csv")), 0)
    assert "\n" not in str(info.value)


def test_unknown_split_value_is_one_sentence(tmp_path):
    make_frame(60).assign(part="holdout").to_csv(tmp_path / "all.csv", index=False)
    with pytest.raises(UserError, match="has the value 'holdout'"):
        prepare(DataConfig(source=str(tmp_path / "all.csv"), split_column="part"), 0)


def _saved_dataset(tmp_path, splits: dict[str, pd.DataFrame], hidden_test=False):
    datasets = pytest.importorskip("datasets")
    label = datasets.ClassLabel(names=["neg", "pos"])
    parts = {}
    for name, frame in splits.items():
        ids = [-1 if hidden_test and name == "test" else label.str2int(v) for v in frame["label"]]
        parts[name] = datasets.Dataset.from_dict(
            {"text": frame["text"].tolist(), "label": ids},
            features=datasets.Features({"text": datasets.Value("string"), "label": label}))
    datasets.DatasetDict(parts).save_to_disk(str(tmp_path / "hf"))
    return tmp_path / "hf"


def test_hugging_face_published_splits_are_used_as_published(tmp_path):
    frame = make_frame(240)
    folder = _saved_dataset(tmp_path, {"train": frame.iloc[:160], "validation": frame.iloc[160:200],
                                       "test": frame.iloc[200:]})
    splits, summary = prepare(DataConfig(source=f"hf:{folder}"), seed=0)
    assert (len(splits.train), len(splits.dev), len(splits.test)) == (160, 40, 40)
    assert splits.test["text"].tolist() == frame.iloc[200:]["text"].tolist()
    assert summary["split"]["given"]["test"] == "published split test"
    assert "validation as dev" in summary["origin"]
    # configurable: ignore the published dev split and cut dev from train instead
    splits, summary = prepare(DataConfig(source=f"hf:{folder}", hf_dev_split="none"), seed=0)
    assert summary["split"]["made"] == ["dev"] and len(splits.test) == 40
    with pytest.raises(UserError, match="hf_test_split is 'heldout'"):
        prepare(DataConfig(source=f"hf:{folder}", hf_test_split="heldout"), seed=0)


def test_a_published_test_split_without_labels_is_replaced_and_said(tmp_path):
    frame = make_frame(240)
    folder = _saved_dataset(tmp_path, {"train": frame.iloc[:200], "test": frame.iloc[200:]},
                            hidden_test=True)
    splits, summary = prepare(DataConfig(source=f"hf:{folder}"), seed=0)
    assert sorted(summary["split"]["made"]) == ["dev", "test"]
    assert "test split has no labels" in summary["origin"]


def test_a_given_split_empty_after_cleaning_is_one_sentence(files):
    folder, frame = files
    frame.iloc[180:].assign(text="   ").to_csv(folder / "test.csv", index=False)
    with pytest.raises(UserError, match="given test split .* has no rows left after cleaning"):
        prepare(DataConfig(source=str(folder / "train.csv"), test_source=str(folder / "test.csv")), 0)


def test_a_hub_dataset_by_name_uses_its_published_splits(monkeypatch, tmp_path):
    datasets = pytest.importorskip("datasets")
    frame = make_frame(240)
    published = datasets.DatasetDict({
        name: datasets.Dataset.from_pandas(part[["text", "label"]], preserve_index=False)
        for name, part in (("train", frame.iloc[:180]), ("test", frame.iloc[180:]))})
    calls = []

    def load_dataset(name, config=None, **kwargs):
        calls.append((name, config))
        return published
    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    splits, summary = prepare(DataConfig(source="hf:someone/reviews", hf_config="en"), seed=0)
    assert calls == [("someone/reviews", "en")]
    assert len(splits.test) == 60 and summary["split"]["made"] == ["dev"]
    assert summary["origin"].startswith("Hugging Face dataset someone/reviews (en)")
