"""Reports generated from the run record alone: HTML, model card, datasheet, checklist.

A task names its :class:`Reports` (which card and datasheet it writes, and its own
section of report.html); :meth:`Reports.write` renders the four files. The model card and
datasheet of every task come from one template each, with the task's sections
(:mod:`greennlp.report.cards`, :func:`task_reports`). The renderers
are imported when they are needed (matplotlib is slow to import).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from greennlp.record import RunRecord

Render = Callable[[RunRecord], str]


@dataclass(frozen=True)
class Reports:
    """What a task's run writes: its model card, its datasheet, its section of the report."""

    card: Render
    datasheet: Render
    section: Render | None = None  # the task's own part of report.html

    def write(self, record: RunRecord) -> dict[str, str]:
        """Write report.html, MODEL_CARD.md, DATASHEET.md and CHECKLIST.md into the run folder.

        Returns
        -------
        dict
            Artifact name -> path.
        """
        from greennlp.files import write_text
        from greennlp.report import checklist, html

        folder = Path(record.run_dir)
        folder.mkdir(parents=True, exist_ok=True)
        outputs = {"report": ("report.html", lambda r: html.render(r, self.section)),
                   "model_card": ("MODEL_CARD.md", self.card),
                   "datasheet": ("DATASHEET.md", self.datasheet),
                   "checklist": ("CHECKLIST.md", checklist.render)}
        paths = {}
        for key, (filename, render) in outputs.items():
            path = write_text(folder / filename, render(record))  # whole, or the old one
            paths[key] = str(path)
        return paths


def task_reports(task: str, card: Callable[[RunRecord], dict], datasheet: Callable[[RunRecord], dict],
                 section: Render | None = None, templates: str | Path | None = None) -> Reports:
    """A task's reports: its templates ``<task>/model_card.md.j2`` and
    ``<task>/datasheet.md.j2`` (greennlp's, or under ``templates`` for a task defined
    elsewhere), which extend the one model card and datasheet, filled by the ``card`` and
    ``datasheet`` context functions; and its part of report.html."""
    from greennlp.report.cards import renderer

    folder = None if templates is None else str(templates)
    return Reports(card=renderer(f"{task}/model_card.md.j2", card, folder),
                   datasheet=renderer(f"{task}/datasheet.md.j2", datasheet, folder),
                   section=section)


def classification_reports() -> Reports:
    """The reports of a classification run."""
    from greennlp.report import datasheet, model_card

    return task_reports("classification", model_card.card_context, datasheet.datasheet_context)


def lm_reports() -> Reports:
    """The reports of a language-modelling run."""
    from greennlp.report import lm_card, lm_html

    return task_reports("lm", lm_card.card_context, lm_card.datasheet_context,
                        lm_html.render_section)


def trainer_reports() -> Reports:
    """The reports of a run recorded from a user's Hugging Face Trainer."""
    from greennlp.report import trainer_card

    return task_reports("trainer", trainer_card.card_context, trainer_card.datasheet_context,
                        trainer_card.render_section)
