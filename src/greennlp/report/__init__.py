"""Reports generated from the run record alone: HTML, model card, datasheet, checklist."""

from __future__ import annotations

from pathlib import Path

from greennlp.record import RunRecord


def write_reports(record: RunRecord) -> dict[str, str]:
    """Write report.html, MODEL_CARD.md, DATASHEET.md and CHECKLIST.md into the run folder.

    Returns
    -------
    dict
        Artifact name -> path.
    """
    from greennlp.report import checklist, datasheet, html, model_card

    folder = Path(record.run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    outputs = {"report": ("report.html", html.render), "model_card": ("MODEL_CARD.md", model_card.render),
               "datasheet": ("DATASHEET.md", datasheet.render),
               "checklist": ("CHECKLIST.md", checklist.render)}
    paths = {}
    for key, (filename, render) in outputs.items():
        path = folder / filename
        path.write_text(render(record), encoding="utf-8")
        paths[key] = str(path)
    return paths
