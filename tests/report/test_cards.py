"""Model cards and datasheets from templates: one skeleton each, filled by a task's sections;
data text escaped in every task's card and datasheet."""

from __future__ import annotations

import re

from huggingface_hub import ModelCard

from greennlp.record import ModelResult, RunRecord, StageResult
from greennlp.report import classification_reports, lm_reports, task_reports, trainer_reports

HOSTILE = "<img src=x onerror=alert(1)> a|b\nc_[d]"
MITCHELL = ["Model details", "Intended use", "Factors", "Metrics", "Evaluation data",
            "Training data", "Quantitative analyses", "Environmental impact",
            "Ethical considerations", "Caveats and recommendations"]


def _record(tmp_path, task: str = "classification") -> RunRecord:
    """A finished run whose data texts, labels and names are all hostile."""
    score = {"value": 0.8, "low": 0.7, "high": 0.9}
    data = {"source": HOSTILE, "origin": HOSTILE, "description": HOSTILE, "license": HOSTILE,
            "homepage": HOSTILE, "citation": HOSTILE, "documents_found": HOSTILE,
            "columns": {"text": HOSTILE, "group": HOSTILE},
            "cleaning": {"conflict_examples": [{"text": HOSTILE, "labels": [HOSTILE, "x"]}]},
            "stats": {"labels": {HOSTILE: 3, "x": 2}, "size": 5,
                      "splits": {"train": {"labels": {HOSTILE: 3}, "size": 5, "documents": 5,
                                           "characters": 9, "words": 3}}},
            "split": {"method": "stratified", "seed": 0, "groups": {"train": 1},
                      "given": {"train": HOSTILE}, "made": [], "sizes": {"test": 1}},
            "lines": {"differs": True, "physical_lines": 9, "rows": 5, "blank_lines": 0,
                      "multiline_rows": 1,
                      "first_multiline": {"row": 1, "line": 2, "lines": 2, "text": HOSTILE}},
            "model": {"class": HOSTILE, "name_or_path": HOSTILE}}
    metric, family = ("accuracy", "tfidf_logreg") if task == "classification" else (
        "perplexity", "ngram")
    rec = RunRecord(run_id="r", run_dir=str(tmp_path), command="greennlp run", data=data,
                    config={"task": task, "trainer_args": {"run_name": HOSTILE}},
                    footprint={"pue": 1.0},
                    selection={"metric": metric, "higher_is_better": metric == "accuracy"})
    rec.add_model(ModelResult("m", family, dev={metric: score}, labels=[HOSTILE, "x"],
                              test={metric: score, f"f1_{HOSTILE}": score},
                              checkpoint=str(tmp_path / "models" / "m")))
    rec.add_stage(StageResult("train:m", duration_s=1.0, energy_kwh=1e-6, co2_kg=1e-7,
                              cost_usd=1e-5, metrics={HOSTILE: 1.0}))
    return rec


def test_data_text_is_escaped_in_every_tasks_card_and_datasheet(tmp_path):
    for task, reports in (("classification", classification_reports), ("lm", lm_reports),
                          ("trainer", trainer_reports)):
        rec = _record(tmp_path, task)
        for kind, render in (("card", reports().card), ("datasheet", reports().datasheet)):
            text = re.sub(r"`[^`]*`", "", render(rec))  # a code span shows text as it is
            assert "<img" not in text and "a|b" not in text and "c_[" not in text, (task, text)
            shown = "&lt;img src=x onerror=alert(1)&gt; a\\|b \u21b5 c\\_\\[d\\]" in text
            assert shown or (task, kind) == ("trainer", "datasheet"), (task, kind)


def test_the_skeleton_orders_mitchells_sections_and_drops_empty_ones(tmp_path):
    card = classification_reports().card(_record(tmp_path))
    sections = re.findall(r"^## (.+)$", card, re.MULTILINE)
    assert [s for s in sections if s in MITCHELL] == MITCHELL
    trainer = trainer_reports().card(_record(tmp_path, "trainer"))
    assert re.findall(r"^## (.+)$", trainer, re.MULTILINE) == ["Model details",
                                                              "Environmental impact"]
    assert "\n\n\n" not in card and not any(line.endswith(" ") for line in card.splitlines())


def test_the_cards_parse_and_a_run_without_a_model_says_so(tmp_path):
    for reports, task in ((classification_reports, "classification"), (lm_reports, "lm")):
        path = tmp_path / f"{task}.md"
        path.write_text(reports().card(_record(tmp_path, task)))
        assert ModelCard.load(path).data.model_name == "greennlp-r-m"
        empty = RunRecord(run_id="e", run_dir=str(tmp_path), config={"task": task})
        assert reports().card(empty).startswith("# Model card\n\nRun e produced no ")
        assert reports().datasheet(empty) == ("# Datasheet\n\nRun e did not finish its data "
                                              "stage.\n")


def test_a_task_from_elsewhere_fills_the_skeletons_with_its_own_sections(tmp_path):
    folder = tmp_path / "templates" / "toy"
    folder.mkdir(parents=True)
    (folder / "model_card.md.j2").write_text(
        '{% extends "model_card.md.j2" %}\n{% block title %}{{ model|md }}{% endblock %}\n'
        "{% block metrics %}\n- Exact match on {{ n }} examples.\n{% endblock %}\n"
        "{% block environmental_impact %}{% endblock %}\n")
    (folder / "datasheet.md.j2").write_text(
        '{% extends "datasheet.md.j2" %}\n{% block uses %}\n- Toy uses.\n{% endblock %}\n')
    rec = _record(tmp_path)
    reports = task_reports("toy", lambda r: {"run_id": r.run_id, "model": "a|b",
                                             "front_matter": "tags:\n- toy", "n": 3},
                           lambda r: {"run_id": r.run_id, "data": r.data, "description": "d",
                                      "task": "toy", "audit_lines": []},
                           templates=tmp_path / "templates")
    assert reports.card(rec) == ("---\ntags:\n- toy\n---\n\n# Model card: a\\|b (greennlp run r)"
                                 "\n\n## Metrics\n- Exact match on 3 examples.\n")
    sheet = reports.datasheet(rec)
    assert re.findall(r"^## (.+)$", sheet, re.MULTILINE) == [
        "Motivation", "Composition", "Collection process", "Uses", "Distribution"]
    assert "- Toy uses." in sheet and "- Task in this run: toy." in sheet
