"""What the task recipes share: the report stage and the checks of model names."""

from __future__ import annotations

from typing import Callable

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
