"""``greennlp audit DATA``: the data audit alone, as a recorded run.

Cleaning, exact duplicates and leakage (the data stage), near-duplicates and
contamination (the ``audit`` stage) and, for labelled data, the training dynamics of
the cheapest neural model (``audit:dynamics``); it writes DATASHEET.md and AUDIT.md.
"""

from __future__ import annotations

from pathlib import Path

from greennlp.data.builtins import BUILTINS
from greennlp.errors import UserError
from greennlp.record import RunRecord
from greennlp.run import Log
from greennlp.tasks import load_config, record_failed_start, start


def _is_corpus(data: str) -> bool:
    """Text without labels (a .txt file or an unlabelled built-in) is audited as an LM corpus."""
    return (data in BUILTINS and not BUILTINS[data].labelled) or Path(data).suffix == ".txt"


def audit(data: str, overrides: list[str] | tuple[str, ...] = (), command: str = "",
          log: Log = print) -> RunRecord:
    """Audit ``data`` (a built-in name, a .csv/.jsonl/.parquet file, or a .txt corpus:
    paragraphs as documents, ``data.documents=lines`` for one per line) with
    ``key=value`` ``overrides``.

    Returns
    -------
    RunRecord
        The audit's record; DATASHEET.md and AUDIT.md are in its folder.
    """
    corpus = _is_corpus(data)
    base = ["task=lm"] if corpus else []
    overrides = [*base, f"data.source={data}", "name=audit", *overrides]
    try:
        cfg = load_config(None, overrides)
    except UserError as exc:
        out = next((o.split("=", 1)[1] for o in overrides if o.startswith("output_dir=")), "runs")
        record_failed_start(out, command, str(exc))
        raise
    run = start(cfg, command, log)
    reports = run.task.reports()

    def write(record: RunRecord) -> dict[str, str]:
        from greennlp.report.audit_views import audit_report

        folder = Path(record.run_dir)
        paths = {"datasheet": folder / "DATASHEET.md", "audit": folder / "AUDIT.md"}
        paths["datasheet"].write_text(reports.datasheet(record), encoding="utf-8")
        paths["audit"].write_text(audit_report(record), encoding="utf-8")
        return {k: str(v) for k, v in paths.items()}

    return run.execute(list(run.task.audit()), write)
