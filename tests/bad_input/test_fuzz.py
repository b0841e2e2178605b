"""Property-based fuzzing of the config and data loaders: whatever the input, a completed
load or one clear sentence (:class:`~greennlp.errors.UserError`; through the CLI exit code
2, one ``error:`` line, no traceback), never another exception, never a file written
outside the test's own folder.

CI runs the ``ci`` profile (a fixed number of examples, derandomized, no deadline);
``GREENNLP_FUZZ=long`` runs 5,000 examples a property. Each property counts the inputs it
was fed (printed at the end of the module with ``-s``).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import shutil
import string
import sys
import tempfile
import types
import typing
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from greennlp.cli import app
from greennlp.config import DataConfig, RunConfig, from_dict
from greennlp.data import prepare
from greennlp.errors import UserError
from greennlp.record.schema import to_json
from greennlp.tasks import load_config
from tests.bad_input.test_bad_input import one_sentence
from tests.conftest import make_frame

_COMMON = dict(derandomize=True, deadline=None, database=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.filter_too_much,
                                      HealthCheck.function_scoped_fixture])
settings.register_profile("ci", max_examples=200, **_COMMON)
settings.register_profile("long", max_examples=5000, **_COMMON)
PROFILE = "long" if os.environ.get("GREENNLP_FUZZ") == "long" else "ci"
FUZZED: Counter = Counter()  # inputs fed to each property
OUTCOMES: dict[str, Counter] = defaultdict(Counter)  # property -> loaded / user error
runner = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def _count():
    yield
    for name, count in sorted(FUZZED.items()):
        print(f"fuzzed {count} inputs: {name} (profile {PROFILE}): {dict(OUTCOMES[name])}")


# -- no writes outside the allowed folder ----------------------------------------------------
class Writes:
    """Every file or folder a block creates, changes or removes (Python's audit events)."""

    EVENTS = {"os.mkdir", "os.rename", "os.replace", "os.remove", "os.rmdir", "shutil.rmtree",
              "os.truncate", "os.symlink", "os.link", "os.chmod"}
    WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    active: list[list[str]] = []

    @classmethod
    def hook(cls, event: str, args: tuple) -> None:
        if not cls.active:
            return
        if event == "open":
            path, mode, flags = args
            writes = (any(c in mode for c in "wax+") if isinstance(mode, str)
                      else bool((flags or 0) & cls.WRITE_FLAGS))
            if writes and isinstance(path, (str, bytes, os.PathLike)):
                cls.active[-1].append(os.fsdecode(path))
        elif event in cls.EVENTS and args and isinstance(args[0], (str, bytes, os.PathLike)):
            cls.active[-1].append(os.fsdecode(args[0]))

    def __init__(self, allowed: Path):
        self.allowed = allowed.resolve()
        self.paths: list[str] = []

    def __enter__(self) -> "Writes":
        Writes.active.append(self.paths)
        return self

    def __exit__(self, *exc) -> None:
        Writes.active.pop()
        outside = [p for p in self.paths if not self.fine(Path(os.path.abspath(p)).resolve())]
        assert not outside, f"written outside {self.allowed}: {outside[:3]}"

    def fine(self, path: Path) -> bool:
        """Inside the example's folder, or the system's tmp dir (libraries' caches) but
        not the other examples' folders, or a device such as /dev/null."""
        if path.is_relative_to(self.allowed) or path.is_relative_to("/dev"):
            return True
        return path.is_relative_to(TMP) and not path.is_relative_to(EXAMPLES)


TMP = Path(tempfile.gettempdir()).resolve()
EXAMPLES = TMP / f"greennlp-fuzz-{os.getpid()}"  # one folder per example inside
sys.addaudithook(Writes.hook)


def test_writes_outside_the_folder_are_caught():
    inside, outside = EXAMPLES / "in", EXAMPLES / "out"
    inside.mkdir(parents=True, exist_ok=True)
    try:
        with Writes(inside):
            (inside / "a.json").write_text("{}")
        with pytest.raises(AssertionError, match="written outside"), Writes(inside):
            outside.mkdir()
        with pytest.raises(AssertionError, match="written outside"), Writes(inside):
            os.close(tempfile.mkstemp(dir=outside)[0])
        with pytest.raises(AssertionError, match="written outside"), Writes(inside):
            Path.home().joinpath(".greennlp-fuzz-probe").touch()
    finally:
        Path.home().joinpath(".greennlp-fuzz-probe").unlink(missing_ok=True)
        shutil.rmtree(EXAMPLES, ignore_errors=True)


@pytest.fixture
def folder():
    """An empty working folder for each example (hypothesis reuses the test's fixtures)."""
    cwd, made = os.getcwd(), []

    def make() -> Path:
        if made:
            os.chdir(cwd)
            shutil.rmtree(made.pop(), ignore_errors=True)
        EXAMPLES.mkdir(exist_ok=True)
        made.append(Path(tempfile.mkdtemp(dir=EXAMPLES)))
        os.chdir(made[-1])
        return made[-1]
    yield make
    os.chdir(cwd)
    for path in made:
        shutil.rmtree(path, ignore_errors=True)
    shutil.rmtree(EXAMPLES, ignore_errors=True)


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
ODD = ["\u200b", "\ufeff", "\u202e", "\x00", "\x1b[31m", "\r\n", "\t", "é", "中文", "🙂", "\ud7ff"]
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


TYPED = st.sampled_from(SETTINGS).flatmap(lambda s: _typed_value(s[1], s[2]).map(
    lambda v: f"{s[0]}={yaml.safe_dump(v, default_flow_style=True).strip().removesuffix('...').strip()}"))
OVERRIDE = st.one_of(TYPED, TYPED, st.builds(lambda k, v: f"{k}={v}", KEY_TEXT, VALUE_TEXT),
                     TEXTISH)


def _relative_output_dir(overrides: list[str]) -> list[str]:
    """output_dir kept inside the example's folder (a run writes there by design)."""
    return [f"output_dir=./{o.partition('=')[2].lstrip('/')}"
            if o.partition("=")[0].strip() == "output_dir" else o for o in overrides]


def _user_error_or_config(source: str | None, overrides: list[str]) -> str:
    try:
        cfg = load_config(source, overrides)
    except UserError as exc:
        message = str(exc)
        assert message.strip() and "Traceback" not in message
        return "user error"
    assert isinstance(cfg, RunConfig)
    return "loaded"


def _cli_says_one_sentence(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 2), (args, result.exception, result.output)
    if result.exit_code == 2:
        one_sentence(result.output)
        return "user error"
    return "loaded"


# -- the config loader --------------------------------------------------------------------------
@settings(settings.get_profile(PROFILE))
@given(overrides=st.lists(OVERRIDE, min_size=1, max_size=4))
def test_overrides_load_or_say_one_sentence(folder, overrides):
    FUZZED["overrides (load_config)"] += 1
    where = folder()
    overrides = _relative_output_dir(overrides)
    with Writes(where):
        OUTCOMES["overrides (load_config)"][_user_error_or_config(None, overrides)] += 1


@settings(settings.get_profile(PROFILE), max_examples=settings.get_profile(PROFILE)
          .max_examples // 2)
@given(overrides=st.lists(OVERRIDE, min_size=1, max_size=3))
@example(overrides=["data.dev_fraction=" + "9" * 400])  # found: float() overflowed
@example(overrides=["output_dir=a\x00b", "trainer=1"])  # found: a NUL in a folder's name
def test_overrides_through_the_cli_exit_0_or_2(folder, overrides):
    FUZZED["overrides (greennlp config)"] += 1
    where = folder()
    overrides = [o for o in _relative_output_dir(overrides) if "=" in o]  # no config file
    with Writes(where):
        OUTCOMES["overrides (greennlp config)"][_cli_says_one_sentence(["config", *overrides])] += 1


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


@settings(settings.get_profile(PROFILE))
@given(content=YAML_FILES, suffix=st.sampled_from([".yaml", ".yml", ".json", ".toml"]),
       through_cli=st.booleans())
def test_config_files_load_or_say_one_sentence(folder, content, suffix, through_cli):
    FUZZED["config files"] += 1
    where = folder()
    path = where / f"cfg{suffix}"
    path.write_bytes(content)
    with Writes(where):
        outcome = (_cli_says_one_sentence(["config", str(path)]) if through_cli else
                   _user_error_or_config(str(path), []))
    OUTCOMES["config files"][outcome] += 1


@settings(settings.get_profile(PROFILE), max_examples=settings.get_profile(PROFILE)
          .max_examples // 5)
@given(content=YAML_FILES)
def test_config_files_through_greennlp_run_exit_2_inside_its_folder(folder, content):
    """``greennlp run`` records a run that fails to start in its output_dir: wherever the
    file points that, nothing is written outside the folder (a missing data file stops a
    config that loads before any work)."""
    FUZZED["config files (greennlp run)"] += 1
    where = folder()
    path = where / "cfg.yaml"
    try:
        data = yaml.safe_load(content)
    except (yaml.YAMLError, ValueError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("output_dir"), str):
        data["output_dir"] = "./" + data["output_dir"].lstrip("/")  # relative: inside
        content = yaml.safe_dump(data).encode()
    path.write_bytes(content)
    with Writes(where):
        result = runner.invoke(app, ["run", str(path), f"data.source={where / 'missing.csv'}"])
    assert result.exit_code == 2, (content, result.exception, result.output)
    one_sentence(result.output)
    OUTCOMES["config files (greennlp run)"]["user error"] += 1


# -- the data readers -------------------------------------------------------------------------
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
    """Each column typed as its first cell (strings, numbers, lists, nulls); columns that
    mix types are written as strings."""
    arrays, names = [], []
    for i, name in enumerate(dict.fromkeys(columns)):
        cells = [row[i] for row in rows]
        try:
            arrays.append(pa.array(cells))
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            arrays.append(pa.array([json.dumps(c) if not isinstance(c, str) else c
                                    for c in cells]))
        names.append(name)
    sink = io.BytesIO()
    pq.write_table(pa.table(arrays, names=names) if names else pa.table({}), sink)
    return sink.getvalue()


def _txt(columns, rows, _) -> bytes:
    return "\n\n".join(" ".join(str(c) for c in row) for row in rows).encode("utf-8",
                                                                             "surrogatepass")


WRITERS = {".csv": (_delimited, ","), ".tsv": (_delimited, "\t"), ".jsonl": (_jsonl, None),
           ".json": (_json, None), ".parquet": (_parquet, None), ".txt": (_txt, None)}


def _prepared_or_user_error(path: Path, labels: bool, overrides: dict) -> str:
    try:
        cfg = from_dict(DataConfig, {"source": str(path), **overrides})
        splits, summary = prepare(cfg, seed=0, labels=labels, running_text=not labels)
    except UserError as exc:
        assert str(exc).strip()
        return "user error"
    json.dumps(to_json(summary))  # the record's data section must be writable
    for part in (splits.train, splits.dev, splits.test):
        assert part["text"].map(lambda t: isinstance(t, str)).all()
    return "loaded"


DATA_SETTINGS = st.fixed_dictionaries({}, optional={
    "strict": st.booleans(), "documents": st.sampled_from(["paragraphs", "lines"]),
    "max_examples": st.integers(10, 60), "min_per_class": st.integers(1, 4),
    "split": st.sampled_from(["auto", "random", "stratified", "blocks"]),
    "drop_duplicates": st.booleans(), "drop_conflicts": st.booleans()})


@settings(settings.get_profile(PROFILE))
@given(table=tables(), suffix=st.sampled_from(list(WRITERS)), labels=st.booleans(),
       overrides=DATA_SETTINGS)
@example(table=(list(make_frame(20).columns), make_frame(20).values.tolist()), suffix=".csv",
         labels=True, overrides={"max_examples": 10, "min_per_class": 1})  # found: dev of 1 row
def test_data_files_load_or_say_one_sentence(folder, table, suffix, labels, overrides):
    FUZZED["data tables"] += 1
    where = folder()
    write, sep = WRITERS[suffix]
    path = where / f"data{suffix}"
    path.write_bytes(write(*table, sep))
    with Writes(where):
        if not labels or suffix == ".txt":  # running text: blocks as small as the data
            overrides.setdefault("block_documents", 5)
        outcome = _prepared_or_user_error(path, labels and suffix != ".txt", overrides)
    OUTCOMES["data tables"][outcome] += 1


@settings(settings.get_profile(PROFILE))
@given(content=st.one_of(st.binary(max_size=400), st.binary(max_size=40).map(
    lambda b: b"text,label\n" + b + b"\n"), st.binary(max_size=40).map(
    lambda b: b'{"text": "' + b + b'", "label": "a"}\n')),
       suffix=st.sampled_from(list(WRITERS)), labels=st.booleans())
def test_data_bytes_load_or_say_one_sentence(folder, content, suffix, labels):
    FUZZED["data bytes"] += 1
    where = folder()
    path = where / f"data{suffix}"
    path.write_bytes(content)
    with Writes(where):
        outcome = _prepared_or_user_error(path, labels and suffix != ".txt", {})
    OUTCOMES["data bytes"][outcome] += 1
