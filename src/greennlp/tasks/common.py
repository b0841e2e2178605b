"""What the task recipes share: the data and report stages, the checks of model names."""

from __future__ import annotations

from typing import Callable

from greennlp.data import Splits
from greennlp.errors import UserError
from greennlp.report import Reports
from greennlp.run import Run


def report_stage(reports: Callable[[], Reports]) -> Callable[[Run], None]:
    """The last stage of every task: report.html, the model card, datasheet and checklist."""
    def stage_report(run: Run) -> None:
        def write(st) -> dict[str, str]:
            paths = reports().write(run.record)
            st.artifacts.update(paths)
            return paths
        run.stage("report", write)
    return stage_report


def data_stage(run: Run, unit: str, metric: str) -> Splits:
    """The data stage of every task: the task's ``prepare(run)`` loads, cleans and splits
    (returning the splits and the record's data section); the splits are saved to
    ``data/``, and a resumed run reloads them. Then the task's ``selection(run)`` says how
    the run selects its model (``record.selection``). ``unit`` names the rows in the log,
    ``metric`` in the stage's metrics."""
    folder = run.run_dir / "data"

    def work(st) -> Splits:
        splits, summary = run.task.prepare(run)
        lines = summary.get("lines") or {}
        problem = lines.get("problem")
        if problem:
            run.note(f"data: malformed quoting at line {problem['line']} ({problem['what']}): "
                     f"rows may be merged; fix the quoting there (data.strict=true refuses "
                     f"such files).")
        if lines.get("differs"):
            first = lines.get("first_multiline")
            run.note(f"data: {lines['physical_lines']} physical lines but {lines['rows']} rows "
                     f"(+ header, {lines['blank_lines']} blank lines); {lines['multiline_rows']} "
                     f"rows span several lines" + (
                         f", the first is row {first['row']} from line {first['line']} "
                         f"({first['lines']} lines): \"{first['text'][:60]}\"" if first else "")
                     + ("." if problem else "; line breaks inside quoted fields are valid CSV."))
        splits.save(folder)
        run.record.data = summary
        sizes = summary["split"]["sizes"]
        st.metrics = {metric: summary["stats"]["size"], **sizes}
        st.artifacts["splits"] = str(folder)
        given = [n for n in summary["split"].get("given", {}) if n != "train"]
        run.log(f"data: {summary['stats']['size']} {unit}, split by {summary['split']['method']} "
                f"into {sizes['train']} / {sizes['dev']} / {sizes['test']}"
                + (f" ({' and '.join(given)} as the dataset gives)" if given else ""))
        return splits
    splits = run.stage("data", work, reload=lambda st: Splits.load(folder, run.record.data["split"]))
    run.splits = splits
    if run.task.selection is not None:
        run.record.selection = run.task.selection(run)
    return splits


def check_listed(key: str, given: tuple[str, ...], allowed: list[str], what: str) -> None:
    """Every name in config key ``key`` must be one of ``allowed``, and there must be one."""
    if not given:
        raise UserError(f"Config key '{key}' is empty; list at least one of: "
                        f"{', '.join(allowed)}.")
    bad = [n for n in given if n not in allowed]
    if bad:
        raise UserError(f"Unknown {what} '{bad[0]}' in '{key}'; choose from: {', '.join(allowed)}.")


def check_choice(key: str, value: str, allowed: list[str]) -> None:
    """A setting that names one model family must name an allowed one."""
    if value not in allowed:
        raise UserError(f"Config key '{key}' is {value!r}; choose one of: {', '.join(allowed)}.")
