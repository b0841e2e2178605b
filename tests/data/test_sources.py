import pandas as pd
import pytest

from greennlp.config import DataConfig
from greennlp.data.sources import load_raw
from greennlp.errors import UserError


def test_csv_jsonl_parquet_give_the_same_frame(tmp_path, frame):
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_json(tmp_path / "d.jsonl", orient="records", lines=True)
    frame.to_parquet(tmp_path / "d.parquet")
    loaded = [load_raw(DataConfig(source=str(tmp_path / f"d.{ext}"), group_column="movie")).frame
              for ext in ("csv", "jsonl", "parquet")]
    for other in loaded[1:]:
        pd.testing.assert_frame_equal(loaded[0], other)
    assert list(loaded[0].columns) == ["text", "label", "group"]


def test_configurable_columns(tmp_path):
    pd.DataFrame({"review": ["a b", "c d"], "stars": [1, 5]}).to_csv(tmp_path / "r.csv", index=False)
    raw = load_raw(DataConfig(source=str(tmp_path / "r.csv"), text_column="review", label_column="stars"))
    assert raw.frame["label"].tolist() == ["1", "5"]


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    (b"text,label\n\xff\xfe bad bytes,x\n", "not UTF-8"),
    (b"", "is empty"),
    (b"text,label\n", "has no rows"),
    (b"body,label\nhello,x\n", "Column 'text' \\(text\\) is missing"),
    (b"text,label\nhello,\n", "have no label"),
])
def test_bad_files_are_user_errors(tmp_path, content, message):
    path = tmp_path / "d.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError, match=message) as info:
        load_raw(DataConfig(source=str(path)))
    assert "\n" not in str(info.value)


def test_unknown_dataset_and_type(tmp_path):
    with pytest.raises(UserError, match="Unknown dataset 'imdbb'"):
        load_raw(DataConfig(source="imdbb"))
    (tmp_path / "d.xlsx").write_text("x")
    with pytest.raises(UserError, match="unsupported type"):
        load_raw(DataConfig(source=str(tmp_path / "d.xlsx")))


def test_hugging_face_without_the_library_is_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_datasets(name, *args, **kwargs):
        if name == "datasets":
            raise ImportError("no datasets")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_datasets)
    with pytest.raises(UserError, match="pip install datasets"):
        load_raw(DataConfig(source="hf:imdb"))
