"""Read a text dataset from a file, Hugging Face, or a built-in name.

Whatever the source, the result is a :class:`RawData`: a DataFrame with the column
``text`` and, when the task has labels, ``label`` (strings), plus ``group`` and ``time``
when configured, and the facts a datasheet needs (origin, license, citation, what a
document is). A table file (.csv/.tsv/.jsonl/.json/.parquet) gives one document per row;
a ``.txt`` file (unlabelled text) one per paragraph (lines separated by blank lines: the
line breaks of wrapped text are not document boundaries) or one per line
(``data.documents=lines``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from greennlp.data.builtins import BUILTINS, load_builtin
from greennlp.data.given import check_like_train, hf_roles, partition
from greennlp.errors import UserError

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")
FILE_SUFFIXES = (*TABLE_SUFFIXES, ".txt")
BLANK_LINES = re.compile(r"\n[^\S\n]*\n\s*")


@dataclass
class RawData:
    """A dataset in greennlp's column convention, with what is known about it."""

    frame: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    given: dict[str, pd.DataFrame] = field(default_factory=dict)  # dev / test as the data gave them


def text_documents(text: str, documents: str) -> list[str]:
    """The documents of a text file: ``paragraphs`` (separated by blank lines) or ``lines``.

    >>> text_documents("a b\\nc\\n\\n  \\nd\\n", "paragraphs")
    ['a b\\nc', 'd\\n']
    >>> text_documents("a b\\nc\\n", "lines")
    ['a b', 'c']
    """
    if documents == "lines":
        return text.splitlines()
    return BLANK_LINES.split(text.replace("\r\n", "\n"))


def documents_found(path: Path | None, cfg) -> str:
    """What one document of the source is, for the datasheet."""
    if path is not None and path.suffix == ".txt":
        return ("one per line" if cfg.documents == "lines" else
                "paragraphs: lines separated by blank lines (line breaks inside a paragraph kept)")
    return f"one per row of the column '{cfg.text_column}'"


def _read_file(path: Path, cfg) -> pd.DataFrame:
    """A table file as a frame of strings, or a .txt file's documents as column
    ``data.text_column``."""
    if not path.exists():
        raise UserError(f"Data file {path} does not exist; check data.source.")
    if path.suffix not in FILE_SUFFIXES:
        raise UserError(f"Data file {path} has an unsupported type; use one of "
                        f"{', '.join(FILE_SUFFIXES)}.")
    try:
        if path.suffix == ".txt":
            docs = text_documents(path.read_text(encoding="utf-8"), cfg.documents)
            return pd.DataFrame({cfg.text_column: pd.Series(docs, dtype=object)})
        if path.suffix in (".csv", ".tsv"):
            _refuse_repeated_columns(path)
            return pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",",
                               encoding="utf-8", dtype=str, keep_default_na=False)
        if path.suffix in (".jsonl", ".json"):
            return pd.read_json(path, lines=path.suffix == ".jsonl", dtype=False,
                                encoding="utf-8")
        return pd.read_parquet(path)
    except UnicodeDecodeError:
        raise UserError(f"Data file {path} is not UTF-8 text; re-save it as UTF-8.") from None
    except pd.errors.EmptyDataError:
        raise UserError(f"Data file {path} is empty; give a file with a header and rows.") from None
    except (ValueError, pd.errors.ParserError, OSError) as exc:
        first = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise UserError(f"Data file {path} cannot be read ({first}); check that it is valid "
                        f"{path.suffix.lstrip('.').upper()}.") from None


def _refuse_repeated_columns(path: Path) -> None:
    """pandas renames a repeated header (``label``, ``label.1``) and reads on: refused."""
    import csv

    try:
        with path.open(encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle, delimiter="\t" if path.suffix == ".tsv" else ","),
                          [])
    except csv.Error:
        return  # pandas reads it, or says why not
    names = [name.strip() for name in header]
    repeated = next((name for i, name in enumerate(names) if name in names[:i]), None)
    if repeated is not None:
        raise UserError(f"Column {repeated!r:.60} appears twice in the header of {path}; rename "
                        f"or remove one of them.")


def line_audit(path: Path, frame: pd.DataFrame, sep: str = ",") -> dict[str, Any]:
    """Physical lines of a CSV/TSV file against the rows parsed from it, and its quoting.

    A quoted field may hold line breaks (valid CSV), so rows and lines can legitimately
    differ: the datasheet and the console report the difference and the first row that
    spans several lines. Malformed quoting is another matter: an unbalanced quote makes one
    row swallow the lines after it without any error from pandas. The file is read again
    with the csv module in strict mode (:func:`quoting_problem`); what it finds is
    ``problem``.
    """
    data = path.read_bytes()
    physical = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    blank = sum(1 for line in data.splitlines() if not line.strip())
    spans = (1 + sum(frame[c].astype(str).str.count("\n") for c in frame.columns)).tolist() \
        if len(frame.columns) else [1] * len(frame)
    multiline = [i for i, n in enumerate(spans) if n > 1]
    out: dict[str, Any] = {"physical_lines": physical, "rows": len(frame),
                           "blank_lines": blank, "multiline_rows": len(multiline),
                           "differs": physical - blank != len(frame) + 1,
                           "problem": quoting_problem(path, sep)}
    if multiline:
        i = multiline[0]
        text = " ".join(str(v) for v in frame.iloc[i].tolist())
        out["first_multiline"] = {"row": i + 1, "line": 2 + sum(spans[:i]), "lines": spans[i],
                                  "text": " ".join(text.split())[:80]}
    return out


_CSV_ERRORS = {"expected after": "a closing quote is followed by more text, not the delimiter",
               "end of data": "a quote opens a field that never closes",
               "new-line character seen in unquoted field": "a bare carriage return ends a field"}


def quoting_problem(path: Path, sep: str = ",") -> dict[str, Any] | None:
    """The first malformed row of a CSV/TSV file, read by the csv module in strict mode
    (a quote in the wrong place, a field left open, a row whose field count differs from
    the header's): ``{"line": first line of the row, "what": what is wrong}``, or None for
    a well-formed file (line breaks inside quoted fields included)."""
    import csv

    line, columns = 1, None
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter=sep, strict=True)
        try:
            for row in reader:
                if row:
                    columns = columns or len(row)
                    if len(row) != columns:
                        return {"line": line, "what": f"{len(row)} field{'s' * (len(row) != 1)} "
                                                      f"where the header has {columns}"}
                line = reader.line_num + 1
        except csv.Error as exc:
            what = next((v for k, v in _CSV_ERRORS.items() if k in str(exc)), str(exc))
            return {"line": line, "what": what}
    return None


def _read_hf(name: str, cfg, labels: bool) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The published splits of a hub dataset (or one saved with ``save_to_disk``) that
    play train, dev and test (:func:`greennlp.data.given.hf_roles`), as frames; with
    ``labels``, class ids become their names."""
    try:
        import datasets
    except ImportError:
        raise UserError(f"data.source 'hf:{name}' needs the Hugging Face datasets library; "
                        f"install it with `pip install 'greennlp[hf]'` (or `pip install "
                        f"datasets`).") from None
    try:
        if Path(name).is_dir():  # a dataset saved with save_to_disk: no hub needed
            ds = datasets.load_from_disk(name)
        else:
            ds = datasets.load_dataset(name, cfg.hf_config)
    except Exception as exc:  # offline, unknown name, missing config: all user-fixable
        first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise UserError(f"Could not load Hugging Face dataset '{name}' ({first}); check the "
                        f"name and that the Hub is reachable, or export it to a file.") from None
    if not isinstance(ds, datasets.DatasetDict):
        ds = datasets.DatasetDict({cfg.hf_split: ds})
    roles, notes = hf_roles(list(ds), cfg)
    frames = {}
    for role, split in roles.items():
        frame = ds[split].to_pandas()
        feature = ds[split].features.get(cfg.label_column) if labels else None
        if feature is not None and hasattr(feature, "int2str") and cfg.label_column in frame:
            ids = frame[cfg.label_column].astype(int)
            if role != "train" and (ids < 0).all():  # e.g. GLUE: test labels are hidden (-1)
                notes.append(f"its {split} split has no labels")
                continue
            frame[cfg.label_column] = [feature.int2str(i) if i >= 0 else "" for i in ids]
        frames[role] = frame
    info = ds[cfg.hf_split].info
    used = ", ".join(f"{split} as {role}" for role, split in roles.items() if role in frames)
    meta = {"origin": f"Hugging Face dataset {name}" + (f" ({cfg.hf_config})" if cfg.hf_config
                                                         else "") + f", published splits: {used}"
                      + (f" ({'; '.join(notes)})" if notes else ""),
            "license": (info.license or "see the dataset card"), "citation": info.citation,
            "given_from": {role: f"published split {split}" for role, split in roles.items()
                           if role in frames}}
    return frames, meta


def _select(frame: pd.DataFrame, roles: dict[str, str | None], where: str,
            keep: tuple[str, ...] = ()) -> pd.DataFrame:
    out = {}
    for role, column in roles.items():
        if column is None:
            continue
        if column not in frame.columns:
            raise UserError(f"Column '{column}' ({role}) is missing from {where}; its columns "
                            f"are {', '.join(map(str, frame.columns))}: set "
                            f"data.{role}_column to one of them.")
        out[role] = frame[column]
    for column in keep:
        if column not in frame.columns:
            raise UserError(f"Column '{column}' (evaluate.slice_columns / sensitive_columns) is "
                            f"missing from {where}; its columns are "
                            f"{', '.join(map(str, frame.columns))}: name one of them.")
        if column not in out:
            out[column] = frame[column].astype("string").fillna("<missing>")
    return pd.DataFrame(out)


def check_text_column(column: pd.Series, name: str, where: str) -> None:
    """The text column must hold text: numbers, lists or mappings are a wrong column."""
    values = column.dropna()
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return
    if values.dtype == object or str(values.dtype) in ("string", "str"):
        bad = values[[not isinstance(v, str) for v in values]]
    else:
        bad = values
    if len(bad):
        first = bad.iloc[0]
        shown = repr(first.tolist() if hasattr(first, "tolist") else first)[:40]
        kind = {"ndarray": "list", "tuple": "list", "dict": "mapping"}.get(
            type(first).__name__, type(first).__name__)
        raise UserError(f"Column '{name}' (text) of {where} holds {kind} "
                        f"values, not text ({len(bad)} of {len(values)} rows, e.g. {shown}); "
                        f"set data.text_column to the column with the texts.")


def _typed(out: pd.DataFrame, where: str, text_column: str) -> pd.DataFrame:
    """Text (and label, when selected) as strings; a row without a label is an error."""
    labelled = "label" in out
    if len(out) == 0:
        raise UserError(f"The {where} has no rows; give a dataset with "
                        f"{'labelled examples' if labelled else 'texts'}.")
    check_text_column(out["text"], text_column, where)
    out["text"] = out["text"].astype("string").fillna("")
    if not labelled:
        return _groups_as_strings(out)
    out["label"] = out["label"].astype("string").str.strip()
    missing = out["label"].isna() | (out["label"] == "")
    if missing.any():
        raise UserError(f"{int(missing.sum())} rows of {where} have no label; fill or remove "
                        f"them.")
    refuse_lookalike_labels(out["label"].unique().tolist(), where)
    return _groups_as_strings(out)


def _invisible_shown(label: str) -> str:
    """``label`` quoted, its invisible (format) characters written as \\uXXXX."""
    return "'" + "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) == "Cf" else c
                         for c in label) + "'"


def refuse_lookalike_labels(labels: list[str], where: str) -> None:
    """Two labels that differ only by zero-width (format) characters or by Unicode
    normalisation look the same but would be two classes: refused, naming both."""
    seen: dict[str, str] = {}
    for label in labels:
        bare = "".join(c for c in unicodedata.normalize("NFC", label)
                       if unicodedata.category(c) != "Cf").strip()
        if bare in seen and seen[bare] != label:
            raise UserError(f"Labels {_invisible_shown(seen[bare])} and {_invisible_shown(label)} "
                            f"of {where} differ only by invisible (zero-width) characters or "
                            f"Unicode normalisation; make them one label in the data.")
        seen.setdefault(bare, label)


def _groups_as_strings(out: pd.DataFrame) -> pd.DataFrame:
    for column in ("group", "language"):
        if column in out:
            out[column] = out[column].astype("string").str.strip().fillna("<missing>")
    return out.reset_index(drop=True)


def _given_files(cfg, roles: dict[str, str | None], train_where: str, train_columns,
                 extra: tuple[str, ...]) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """The dev / test files of ``data.dev_source`` / ``data.test_source``, as selected frames."""
    frames, origin = {}, {}
    for name, source in (("dev", cfg.dev_source), ("test", cfg.test_source)):
        if not source:
            continue
        path = Path(source)
        frame = _read_file(path, cfg)
        lacking = [c for r, c in roles.items() if c and c not in frame.columns]
        if lacking:
            raise UserError(f"The {name} file {path} lacks the column '{lacking[0]}' that the "
                            f"{train_where} has; give data.{name}_source the training file's "
                            f"columns ({', '.join(map(str, train_columns))}).")
        frames[name] = _select(frame, roles, f"{name} file {path}", extra)
        origin[name] = f"file {path}"
    return frames, origin


def _open(cfg, labels: bool) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], str, dict, dict]:
    """The source's training frame, a hub dataset's other published splits, where the data
    come from, what is known about them, and the column of each role."""
    source = cfg.source
    roles = {"text": cfg.text_column, "label": cfg.label_column if labels else None,
             "group": cfg.group_column, "time": cfg.time_column,
             "language": cfg.language_column}
    if source in BUILTINS:
        frame, spec = load_builtin(source)
        label = spec.columns.get("label") or (cfg.label_column if cfg.label_column in
                                              frame.columns else None)
        if labels and label is None:
            raise UserError(f"Built-in dataset '{source}' has no labels ({spec.task}); this "
                            f"task needs labels: use one of "
                            f"{', '.join(n for n, b in BUILTINS.items() if b.labelled)}, name "
                            f"one of its columns ({', '.join(spec.columns)}) in "
                            f"data.label_column, or give a file with a label column.")
        roles.update(text=spec.columns["text"], label=label if labels else None,
                     group=cfg.group_column or spec.columns.get("group"),
                     language=cfg.language_column or spec.columns.get("language"))
        origin = spec.origin or (f"{spec.file.member} from {spec.file.package}=="
                                 f"{spec.file.version} (PyPI), sha256 {spec.file.sha256[:16]}...")
        meta = {"origin": f"built-in '{source}': {origin}",
                "license": spec.license, "citation": spec.citation,
                "description": spec.description, "homepage": spec.homepage, "task": spec.task,
                "documents_found": spec.documents}
        if spec.languages is not None:
            meta["language_sources"] = spec.languages()
        return frame, {}, f"built-in dataset {source}", meta, roles
    if source.startswith("hf:"):
        hf_frames, meta = _read_hf(source[3:], cfg, labels)
        meta["documents_found"] = documents_found(None, cfg)
        return hf_frames.pop("train"), hf_frames, f"Hugging Face dataset {source[3:]}", meta, roles
    path = Path(source)
    if not (path.suffix or path.exists()):
        raise UserError(f"Unknown dataset '{source}' in data.source; use a built-in name "
                        f"({', '.join(BUILTINS)}), a .csv/.tsv/.jsonl/.parquet/.txt path, or "
                        f"hf:NAME.")
    if labels and path.suffix == ".txt" and path.exists():
        raise UserError(f"Data file {path} has an unsupported type for labelled data (a .txt "
                        f"file holds unlabelled documents); use one of "
                        f"{', '.join(TABLE_SUFFIXES)} with a label column.")
    frame = _read_file(path, cfg)
    meta = {"origin": f"file {path}", "license": "unknown (user-provided file)",
            "documents_found": documents_found(path, cfg)}
    if labels and path.suffix in (".csv", ".tsv"):  # a merged row hides under one label
        meta["lines"] = _checked_lines(path, frame, cfg.strict)
    return frame, {}, f"data file {path}", meta, roles


def _checked_lines(path: Path, frame: pd.DataFrame, strict: bool) -> dict[str, Any]:
    """The :func:`line_audit` of a CSV/TSV file; with ``strict``, malformed quoting is
    refused (line breaks inside quoted fields are valid CSV, and accepted)."""
    lines = line_audit(path, frame, "\t" if path.suffix == ".tsv" else ",")
    problem = lines.get("problem")
    if strict and problem:
        raise UserError(
            f"Data file {path} is malformed at line {problem['line']}: {problem['what']} "
            f"(rows may be merged); fix the quoting there, or set data.strict=false to read "
            f"the file as pandas parses it.")
    return lines


def load_raw(cfg, keep: tuple[str, ...] = (), *, labels: bool = True) -> RawData:
    """Load the dataset described by a :class:`greennlp.config.DataConfig`; ``labels``:
    the task needs a label column (else the texts alone are read).

    Returns
    -------
    RawData
        Columns ``text`` (and ``label``) as strings, optional ``group`` / ``time``; the
        training data in ``frame``, and the dev / test splits the dataset gives (a file,
        a split column, a hub dataset's published split) in ``given``.
    """
    source = cfg.source
    frame, hf_frames, where, meta, roles = _open(cfg, labels)
    split_roles = dict(roles, split=cfg.split_column)
    extra = tuple(c for c in keep if c not in split_roles.values())  # slice columns
    given_files, origin = _given_files(cfg, roles, where, frame.columns, extra)
    out = _select(frame, split_roles, where, extra)
    given = {name: _select(f, roles, f"{name} split of {where}", extra)
             for name, f in hf_frames.items()}
    origin.update(meta.pop("given_from", {}))
    if cfg.split_column:
        parts = partition(_typed(out, where, roles["text"]), "split", where)
        out = parts.pop("train")
        for name, part in parts.items():
            if name in given_files:
                raise UserError(f"Both data.{name}_source and data.split_column give a {name} "
                                f"split; use one of them.")
            given[name] = part
            origin[name] = f"rows with {cfg.split_column} = {name}"
    given.update(given_files)
    out = _typed(out, where, roles["text"])
    given = {name: _typed(f, f"{name} split ({origin[name]})", roles["text"])
             for name, f in given.items()}
    for name, part in given.items():
        check_like_train(out, part, f"{name} split ({origin[name]})")
    if given:
        origin.setdefault("train", where + (f", rows with {cfg.split_column} = train"
                                            if cfg.split_column else ""))
    meta.update({"source": source, "rows_read": int(len(out) + sum(map(len, given.values()))),
                 "columns": {k: v for k, v in split_roles.items() if v},
                 **({"given_from": origin} if given or source.startswith("hf:") else {})})
    return RawData(out, meta, given)
