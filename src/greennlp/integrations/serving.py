"""``greennlp predict``: a run's classifier on new texts, with the price of predicting.

Texts come from a file (``.txt``: one per line; ``.csv``, ``.tsv``, ``.jsonl``,
``.parquet``: a text column) or from standard input (``-``, one per line). Each text gets
its label and the probability of every label, written as CSV or JSON lines, in the
order read. Texts are predicted in batches (the batches the run's evaluation would make of
them), with a progress bar on a terminal, inside one measured stage, so the answer comes
with what it cost: time, energy, CO2e, money, and energy and money per million texts at
that rate.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Sequence

import numpy as np

from greennlp.errors import UserError
from greennlp.record import RunRecord, StageResult

FORMATS = ("csv", "jsonl")
TABLES = (".csv", ".tsv", ".jsonl", ".parquet")
CHUNK = 16  # batches between two progress updates


@dataclass
class Prediction:
    """What predicting cost and which model did it."""

    model: str
    texts: int
    stage: StageResult
    written: str | None = None  # "<format> -> <file>" when written to a file

    def per_million(self, value: float | None) -> float | None:
        """``value`` (of this prediction) scaled to a million texts."""
        return None if value is None or not self.texts else value / self.texts * 1e6


def read_texts(source: str, column: str = "text", stdin: IO[str] | None = None) -> list[str]:
    """The texts of ``source``: ``-`` (standard input, one per line), a ``.txt`` file (one
    per line) or a table with a ``column`` of texts; blank lines are skipped."""
    if source == "-":
        return [line.rstrip("\r\n") for line in (stdin or sys.stdin) if line.strip()]
    path = Path(source)
    if not path.is_file():
        raise UserError(f"Input {source} is not a file; give a .txt, .csv, .tsv, .jsonl or "
                        f".parquet file, or - for standard input.")
    if path.suffix not in TABLES:
        return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    import pandas as pd

    read = {".csv": pd.read_csv, ".tsv": lambda p: pd.read_csv(p, sep="\t"),
            ".jsonl": lambda p: pd.read_json(p, lines=True), ".parquet": pd.read_parquet}
    try:
        frame = read[path.suffix](path)
    except Exception as exc:  # a malformed table: pandas' own first line says where
        raise UserError(f"Input {source} cannot be read as {path.suffix} "
                        f"({str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__})"
                        f"; fix the file or give one text per line in a .txt file.") from None
    if column not in frame.columns:
        raise UserError(f"Input {source} has no column {column!r} (its columns: "
                        f"{', '.join(map(str, frame.columns))}); name the text column with "
                        f"--text-column.")
    return frame[column].fillna("").astype(str).tolist()


def output_format(out: str | None, fmt: str | None) -> str:
    """The output's format: as given, else from the output file's suffix, else CSV."""
    fmt = fmt or ("jsonl" if out and Path(out).suffix in (".jsonl", ".json") else "csv")
    if fmt not in FORMATS:
        raise UserError(f"Unknown output format {fmt!r}; use --format csv or --format jsonl.")
    return fmt


class Writer:
    """Rows of label and probabilities, as CSV (``label, p_<label>...``) or JSON lines
    (``{"label", "probabilities": {label: p}}``)."""

    def __init__(self, stream: IO[str], labels: Sequence[str], fmt: str) -> None:
        self.stream, self.labels, self.fmt = stream, list(labels), fmt
        self.csv = csv.writer(stream, lineterminator="\n") if fmt == "csv" else None
        if self.csv is not None:
            self.csv.writerow(["label", *(f"p_{label}" for label in self.labels)])

    def write(self, proba: np.ndarray) -> None:
        for row in proba:
            label = self.labels[int(row.argmax())]
            if self.csv is not None:
                self.csv.writerow([label, *(f"{p:.6g}" for p in row)])
            else:
                self.stream.write(json.dumps({"label": label, "probabilities": {
                    k: round(float(p), 6) for k, p in zip(self.labels, row)}}) + "\n")


def batching_order(model: Any, texts: Sequence[str]) -> np.ndarray:
    """The order in which ``model.predict_proba(texts)`` batches ``texts``: by token length
    (stable) for a neural model, as given otherwise.

    Predicting in this order, in chunks of whole batches, gives every text the batch it
    had when the run evaluated the same texts, so a model whose numbers depend on the batch
    (dynamic int8 activation scales) gives the run's own numbers for its test set.
    """
    lengths = getattr(model, "token_lengths", None)
    if lengths is None:
        return np.arange(len(texts))
    return np.argsort(lengths(texts), kind="stable")


def predict(record: RunRecord, model_name: str | None, texts: Sequence[str], stream: IO[str],
            fmt: str = "csv", batch_size: int = 32) -> Prediction:
    """Predict ``texts`` with model ``model_name`` of ``record`` (default: the selected one)
    and write a row per text to ``stream``, measured as one stage.

    Parameters
    ----------
    record
        The run whose model predicts.
    model_name
        A model of the run, or None for the one it selected on dev.
    texts
        The texts, in the order their rows are written.
    stream
        Where the rows go.
    fmt
        ``csv`` or ``jsonl``.
    batch_size
        Texts per forward pass.

    Returns
    -------
    Prediction
        The model's name, the number of texts and the measured stage (duration, energy,
        CO2e, money and how energy was obtained).
    """
    from greennlp.compress.export import pick_model
    from greennlp.config import MeasureConfig, from_dict
    from greennlp.measure import Footprint, track
    from greennlp.models import load_model
    from greennlp.train.progress import progress_bar

    if batch_size < 1:
        raise UserError(f"--batch-size is {batch_size}; give a whole number of 1 or more.")
    chosen = pick_model(record, model_name)
    model = load_model(chosen.checkpoint)
    if not hasattr(model, "predict_proba"):
        raise UserError(f"{chosen.name} in run {record.run_id} is not a classifier; predict a "
                        f"classification run's model.")
    measure = from_dict(MeasureConfig, record.config.get("measure", {}), "measure.")
    order = batching_order(model, texts)
    proba = np.empty((len(texts), len(model.labels)), dtype=np.float32)
    step = batch_size * CHUNK
    with track(f"predict:{chosen.name}", None, Footprint.from_config(measure)) as stage, \
            progress_bar(f"predict {chosen.name}", len(texts)) as bar:
        for start in range(0, len(texts), step):
            idx = order[start:start + step]
            proba[idx] = model.predict_proba([texts[i] for i in idx], batch_size)
            bar.advance(len(idx))
        Writer(stream, model.labels, fmt).write(proba)
    stage.metrics["texts"] = len(texts)
    return Prediction(chosen.name, len(texts), stage)


def predict_file(record: RunRecord, model_name: str | None, source: str, out: str | None,
                 fmt: str | None = None, column: str = "text", batch_size: int = 32
                 ) -> Prediction:
    """``greennlp predict``: the texts of ``source`` (see :func:`read_texts`) predicted into
    ``out`` (None or ``-``: standard output) as ``fmt`` (default: from ``out``'s suffix)."""
    texts = read_texts(source, column)
    kind = output_format(out, fmt)
    stream = open_output(out)
    try:
        done = predict(record, model_name, texts, stream, kind, batch_size)
    finally:
        if stream is sys.stdout:
            stream.flush()
        else:
            stream.close()
    done.written = f"{kind} -> {out}" if out and out != "-" else None
    return done


def price_line(done: Prediction) -> str:
    """One line: what predicting cost, and per million texts at that rate."""
    from greennlp.report.views import fmt, scaled

    s = done.stage
    est = " (estimated)" if "estimate" in s.energy_method else ""
    return (f"predicted {done.texts} texts with {done.model} in {fmt(s.duration_s)} s: "
            f"{fmt(scaled(s.energy_kwh, 1e3))} Wh{est}, {fmt(scaled(s.co2_kg, 1e3))} g CO2e, "
            f"${fmt(s.cost_usd)}; per 1M texts: {fmt(done.per_million(s.energy_kwh))} kWh, "
            f"${fmt(done.per_million(s.cost_usd))}" + (f"; {done.written}" if done.written else ""))


def open_output(out: str | None) -> IO[str]:
    """The output stream: a new file (its folder made), or standard output."""
    if out is None or out == "-":
        return sys.stdout
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    return io.open(path, "w", encoding="utf-8", newline="")
