"""Read a labelled text dataset from a file, Hugging Face, or a built-in name.

Whatever the source, the result is a :class:`RawData`: a DataFrame with the columns
``text`` and ``label`` (strings), plus ``group`` and ``time`` when configured, and the
facts a datasheet needs (origin, license, citation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from greennlp.data.builtins import BUILTINS, load_builtin
from greennlp.errors import UserError

FILE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")


@dataclass
class RawData:
    """A dataset in greennlp's column convention, with what is known about it."""

    frame: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)


def _read_file(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise UserError(f"Data file {path} does not exist; check data.source.")
    if path.suffix not in FILE_SUFFIXES:
        raise UserError(f"Data file {path} has an unsupported type; use one of "
                        f"{', '.join(FILE_SUFFIXES)}.")
    try:
        if path.suffix in (".csv", ".tsv"):
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


def _read_hf(name: str, cfg) -> tuple[pd.DataFrame, dict[str, Any]]:
    try:
        import datasets
    except ImportError:
        raise UserError(f"data.source 'hf:{name}' needs the Hugging Face datasets library; "
                        f"install it with `pip install datasets`.") from None
    try:
        ds = datasets.load_dataset(name, cfg.hf_config, split=cfg.hf_split)
    except Exception as exc:  # offline, unknown name, missing config: all user-fixable
        first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise UserError(f"Could not load Hugging Face dataset '{name}' ({first}); check the "
                        f"name and that the Hub is reachable, or export it to a file.") from None
    frame = ds.to_pandas()
    feature = ds.features.get(cfg.label_column)
    if feature is not None and hasattr(feature, "int2str"):  # ClassLabel ids -> names
        frame[cfg.label_column] = [feature.int2str(int(i)) for i in frame[cfg.label_column]]
    meta = {"origin": f"Hugging Face dataset {name}" + (f" ({cfg.hf_config})" if cfg.hf_config
                                                         else "") + f", split {cfg.hf_split}",
            "license": (ds.info.license or "see the dataset card"), "citation": ds.info.citation}
    return frame, meta


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


def load_raw(cfg, keep: tuple[str, ...] = ()) -> RawData:
    """Load the dataset described by a :class:`greennlp.config.DataConfig`.

    Returns
    -------
    RawData
        Columns ``text`` and ``label`` as strings, optional ``group`` / ``time``.
    """
    source = cfg.source
    group_col = cfg.group_column
    if source in BUILTINS:
        frame, spec = load_builtin(source)
        group_col = group_col or spec.columns.get("group")
        where = f"built-in dataset {source}"
        meta = {"origin": f"built-in '{source}': {spec.file.member} from "
                          f"{spec.file.package}=={spec.file.version} (PyPI), sha256 "
                          f"{spec.file.sha256[:16]}...",
                "license": spec.license, "citation": spec.citation,
                "description": spec.description, "homepage": spec.homepage, "task": spec.task}
        roles = {"text": spec.columns["text"], "label": spec.columns["label"],
                 "group": group_col, "time": cfg.time_column}
    elif source.startswith("hf:"):
        frame, meta = _read_hf(source[3:], cfg)
        where = f"Hugging Face dataset {source[3:]}"
        roles = {"text": cfg.text_column, "label": cfg.label_column, "group": group_col,
                 "time": cfg.time_column}
    elif Path(source).suffix or Path(source).exists():
        path = Path(source)
        frame = _read_file(path)
        where = f"data file {path}"
        meta = {"origin": f"file {path}", "license": "unknown (user-provided file)"}
        roles = {"text": cfg.text_column, "label": cfg.label_column, "group": group_col,
                 "time": cfg.time_column}
    else:
        raise UserError(f"Unknown dataset '{source}' in data.source; use a built-in name "
                        f"({', '.join(BUILTINS)}), a .csv/.jsonl/.parquet path, or hf:NAME.")
    out = _select(frame, roles, where, tuple(c for c in keep if c not in roles.values()))
    if len(out) == 0:
        raise UserError(f"The {where} has no rows; give a dataset with labelled examples.")
    out["text"] = out["text"].astype("string").fillna("")
    out["label"] = out["label"].astype("string").str.strip()
    missing = out["label"].isna() | (out["label"] == "")
    if missing.any():
        raise UserError(f"{int(missing.sum())} rows of {where} have no label; fill or remove "
                        f"them.")
    if "group" in out:
        out["group"] = out["group"].astype("string").fillna("<missing>")
    meta.update({"source": source, "rows_read": int(len(out)),
                 "columns": {k: v for k, v in roles.items() if v}})
    return RawData(out.reset_index(drop=True), meta)
