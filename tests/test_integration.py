"""End to end on the real dataset, through the real download path (marked integration)."""

import json
import os
import subprocess
import sys

import pytest


@pytest.mark.integration
def test_quick_profile_end_to_end(tmp_path):
    env = dict(os.environ, GREENNLP_CACHE=str(tmp_path / "cache"), GREENNLP_PROGRESS="0")
    # quick's small transformer and 30-step MiniLM may not beat the majority class; they are
    # compressed anyway here so that every compression stage runs (with the sanity warning)
    proc = subprocess.run([sys.executable, "-m", "greennlp", "run", "quick",
                           f"output_dir={tmp_path / 'runs'}", "compress.skip_failed=false"],
                          capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "report:" in proc.stdout
    record = json.loads(next((tmp_path / "runs").glob("*/record.json")).read_text())
    assert record["status"] == "completed"
    assert record["data"]["split"]["method"] == "group"
    assert record["data"]["split"]["groups_shared_train_test"] == 0
    seed_runs = sum(len(v["seeds"]) - 1 for v in record["seed_runs"].values())
    audit = sum(1 for key in record["tested"] if key.startswith("audit:"))  # PIE, exit curve
    assert record["test_evaluations"] == len(record["models"]) + seed_runs + audit  # test once
    assert len(record["models"]) >= 2 and record["search"] and record["comparisons"]
    tfidf = next(m for m in record["models"] if m["name"] == "tfidf_logreg")
    assert tfidf["test"]["accuracy"]["value"] > 0.6  # well above the 0.58 majority class
    for name in ("report.html", "MODEL_CARD.md", "DATASHEET.md", "CHECKLIST.md"):
        assert (tmp_path / "runs" / record["run_id"] / name).stat().st_size > 500
    html = (tmp_path / "runs" / record["run_id"] / "report.html").read_text()
    for section in ("Pareto frontier", "pruning-identified exemplars", "Early exit: "):
        assert section in html
    assert record["compression"]["pie"]["examples_total"] > 0
