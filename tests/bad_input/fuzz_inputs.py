"""The inputs the fuzzing draws (tests/bad_input/test_fuzz.py): settings and their values,
config files, data tables and the bytes of each file format."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import string
import types
import typing

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from hypothesis import strategies as st

from greennlp.config import RunConfig
from tests.conftest import make_frame


# -- strategies: settings ---------------------------------------------------------------------
def _settings(cls: type, prefix: str = "") -> list[tuple[str, typing.Any, dict]]:
    """Every dotted setting of a config dataclass with its type and rule."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if f.metadata.get("declared"):
            continue
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            out += _settings(tp, f"{prefix}{f.name}.")
        else:
            out.append((prefix + f.name, tp, dict(f.metadata)))
    return out


SETTINGS = _settings(RunConfig)
KEYS = [key for key, _, _ in SETTINGS]
SECTIONS = sorted({key.rsplit(".", 1)[0] for key in KEYS if "." in key})
ODD = ["\u200b", "\ufeff", "\u202e", "\x00", "\x1b[31m", "\r\n", "\t", "é", "中文", "🙂",
       "\ud7ff"]
# YAML that parses to something unusual: anchors that refer to themselves, tags, huge numbers
YAML_VALUES = ["&a [*a]", "&a {x: *a}", "!!python/object:os.system ls", "!!binary aGk=", "~",
               ".inf", "-.inf", ".nan", "1e400", "-0", "0x1F", "0o17", "1_000", "2**32",
               "9" * 400, "1e-400", "[", "{", "[[[[[[[[[[1]]]]]]]]]]", "{a: {b: {c: 1}}}",
               "yes", "no", "on", "off", "null", "2026-12-05", "12:30:00", "'quoted'", '"a\\x00"',
               "!!set {a, b}", "? a", "- a", "|\n  block", "*undefined", "%YAML 1.2", "---",
               "a: b: c", "[a, [b, {c: d}]]", "\u200b", "", " ", "=", "==", "a=b"]
PRINTABLE = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
TEXTISH = st.one_of(PRINTABLE, st.sampled_from(ODD), st.text(string.printable, max_size=20))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-2**70, 2**70),
                    st.floats(allow_nan=True, allow_infinity=True), TEXTISH)
VALUES = st.recursive(SCALARS, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(st.one_of(st.sampled_from(KEYS), TEXTISH),
                                                kids, max_size=4)), max_leaves=12)
KEY_TEXT = st.one_of(st.sampled_from(KEYS), st.sampled_from(SECTIONS),
                     st.builds(lambda k, s: k + s, st.sampled_from(KEYS),
                               st.sampled_from([".", "..x", ".x", " ", "\u200b", ".0"])),
                     TEXTISH)
VALUE_TEXT = st.one_of(st.sampled_from(YAML_VALUES), TEXTISH,
                       VALUES.map(lambda v: yaml.safe_dump(v, default_flow_style=True).strip()))


def _typed_value(tp: typing.Any, meta: dict) -> st.SearchStrategy:
    """Values of the setting's own type: in its range or choices, at their edges, beyond."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return st.one_of(st.none(), *[_typed_value(a, meta) for a in typing.get_args(tp)
                                      if a is not type(None)])
    if typing.get_origin(tp) is tuple:
        return st.lists(_typed_value(typing.get_args(tp)[0], {}), max_size=3)
    if typing.get_origin(tp) is dict:
        return st.dictionaries(TEXTISH, VALUES, max_size=2)
    edges = [v for v in (meta.get("low"), meta.get("high")) if v is not None]
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.one_of(st.integers(-5, 300), st.sampled_from([0, 1, 2**31, 2**63]
                                                               + [int(e) for e in edges]))
    if tp is float:
        return st.one_of(st.floats(-1, 2), st.floats(), st.sampled_from([0.0, *edges]))
    if meta.get("choices"):
        return st.one_of(st.sampled_from(meta["choices"]), TEXTISH)
    return TEXTISH


def _as_yaml(value: typing.Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


TYPED = st.sampled_from(SETTINGS).flatmap(
    lambda s: _typed_value(s[1], s[2]).map(lambda v: f"{s[0]}={_as_yaml(v)}"))
OVERRIDE = st.one_of(TYPED, TYPED, st.builds(lambda k, v: f"{k}={v}", KEY_TEXT, VALUE_TEXT),
                     TEXTISH)


def _nested(pairs: list[tuple[str, typing.Any]]) -> dict:
    data: dict = {}
    for key, value in pairs:
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {}) if isinstance(node.get(part, {}), dict) else {}
        node[parts[-1]] = value
    return data


YAML_FILES = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(YAML_VALUES).map(str.encode),
    st.lists(st.tuples(st.one_of(st.sampled_from(KEYS), TEXTISH), VALUES), max_size=6)
    .map(lambda pairs: yaml.safe_dump(_nested(pairs), allow_unicode=True).encode()),
    st.lists(st.tuples(st.sampled_from(KEYS), VALUE_TEXT), max_size=6)
    .map(lambda pairs: "\n".join(f"{k}: {v}" for k, v in pairs).encode()))


# -- data files ------------------------------------------------------------
HUGE = st.integers(10_000, 200_000).map(lambda n: "lorem ipsum " * (n // 12))
CELL_TEXT = st.one_of(PRINTABLE, st.sampled_from(ODD + ["", " ", '"', '""', ",", "\n", "nan",
                                                        "NULL", "None", "#", "\\"]), HUGE)
JSON_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63 - 1),
                                     st.floats(allow_nan=False), CELL_TEXT),
                           lambda kids: st.one_of(st.lists(kids, max_size=3),
                                                  st.dictionaries(PRINTABLE, kids, max_size=3)),
                           max_leaves=6)
COLUMN_NAMES = st.one_of(st.sampled_from(["text", "label"]), PRINTABLE)


@st.composite
def tables(draw) -> tuple[list[str], list[list[typing.Any]]]:
    """Columns and rows: a learnable table with cells changed, or one made up entirely."""
    if draw(st.booleans()):
        frame = make_frame(draw(st.integers(20, 80)), seed=draw(st.integers(0, 3)))
        columns = list(frame.columns)
        rows = frame.values.tolist()
        for _ in range(draw(st.integers(0, 6))):  # mostly texts; a label or another cell
            row = draw(st.integers(0, len(rows) - 1))
            col = draw(st.sampled_from([0, 0, 0, 0, 0, 0, 1, 2, 3]))
            rows[row][col] = draw(st.one_of(CELL_TEXT, JSON_VALUES))
        if not draw(st.integers(0, 5)):
            columns[draw(st.integers(0, len(columns) - 1))] = draw(COLUMN_NAMES)
        return columns, rows
    columns = draw(st.lists(COLUMN_NAMES, min_size=0, max_size=4))
    labels = draw(st.lists(st.one_of(CELL_TEXT, JSON_VALUES), min_size=1, max_size=3))
    rows = draw(st.lists(st.lists(st.one_of(CELL_TEXT, st.sampled_from(labels), JSON_VALUES),
                                  min_size=len(columns), max_size=len(columns)), max_size=40))
    return columns, rows


def _delimited(columns, rows, sep: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep)
    writer.writerow(columns)
    writer.writerows([[c if isinstance(c, str) else json.dumps(c) for c in row] for row in rows])
    return out.getvalue().encode("utf-8", "surrogatepass")


def _jsonl(columns, rows, _) -> bytes:
    return "".join(json.dumps(dict(zip(columns, row))) + "\n" for row in rows).encode()


def _json(columns, rows, _) -> bytes:
    return json.dumps([dict(zip(columns, row)) for row in rows]).encode()


def _parquet(columns, rows, _) -> bytes:
    """Each column typed as arrow infers it (strings, numbers, lists, mappings, nulls);
    columns that mix types, or that Parquet cannot hold (a mapping without keys), are
    written as strings."""
    arrays, names = [], []
    for i, name in enumerate(columns):
        if name in names:
            continue
        cells = [row[i] for row in rows]
        try:
            array = pa.array(cells)
            pq.write_table(pa.table([array], names=["x"]), io.BytesIO())
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            array = pa.array([json.dumps(c) if not isinstance(c, str) else c for c in cells])
        arrays.append(array)
        names.append(name)
    sink = io.BytesIO()
    pq.write_table(pa.table(arrays, names=names) if names else pa.table({}), sink)
    return sink.getvalue()


def _txt(columns, rows, _) -> bytes:
    return "\n\n".join(" ".join(str(c) for c in row) for row in rows).encode("utf-8",
                                                                             "surrogatepass")


WRITERS = {".csv": (_delimited, ","), ".tsv": (_delimited, "\t"), ".jsonl": (_jsonl, None),
           ".json": (_json, None), ".parquet": (_parquet, None), ".txt": (_txt, None)}


DATA_SETTINGS = st.fixed_dictionaries({}, optional={
    "strict": st.booleans(), "documents": st.sampled_from(["paragraphs", "lines"]),
    "max_examples": st.integers(10, 60), "min_per_class": st.integers(1, 4),
    "split": st.sampled_from(["auto", "random", "stratified", "blocks"]),
    "drop_duplicates": st.booleans(), "drop_conflicts": st.booleans()})
