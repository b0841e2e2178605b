"""The documented Trainer example (docs/integrations.md) runs as written, and what it
records is a greennlp run."""

import json
import re
from pathlib import Path

import pytest
from huggingface_hub import ModelCard
from typer.testing import CliRunner

from greennlp.cli import app

PAGE = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"


def _block(marker: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)
    return next(b for b in blocks if marker in b)


def test_the_documented_trainer_example_records_a_run_that_greennlp_report_renders(tmp_path,
                                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(_block("GreenNLPCallback("), "docs/integrations.md", "exec"), scope)
    record = scope["callback"].record
    assert record.status == "completed"
    names = [s.name for s in record.stages]
    assert names == ["train:epoch1", "evaluate:epoch1", "train:epoch2", "evaluate:epoch2"]
    for stage in record.stages:
        assert stage.duration_s > 0 and stage.energy_kwh > 0 and stage.co2_kg > 0
        assert "cpu:" in stage.energy_method and stage.cost_usd > 0
    assert record.stages[0].metrics["steps"] == 3
    assert "eval_loss" in record.stages[1].metrics
    # the evaluation stage covers the Trainer's own evaluation time
    assert record.stages[1].duration_s >= record.stages[1].metrics["eval_runtime"]
    saved = json.loads((tmp_path / "runs" / record.run_id / "record.json").read_text())
    assert saved["config"]["task"] == "trainer" and saved["footprint"]["pue"] == 1.0
    result = CliRunner().invoke(app, ["report", record.run_id, "--output-dir", "runs"])
    assert result.exit_code == 0, result.output
    card = (tmp_path / "runs" / record.run_id / "MODEL_CARD.md").read_text()
    assert "| evaluate:epoch2 |" in card and "estimate:tdp" in card
    meta = ModelCard.load(tmp_path / "runs" / record.run_id / "MODEL_CARD.md").data.to_dict()
    assert meta["library_name"] == "transformers" and "greennlp" in meta["tags"]
    assert meta["co2_eq_emissions"]["emissions"] == pytest.approx(  # grams, all 4 stages
        record.totals()["co2_kg"] * 1000, rel=1e-3, abs=1e-6) and record.totals()["co2_kg"] > 0
    assert "train:epoch1" in (tmp_path / "runs" / record.run_id / "report.html").read_text()
    listed = CliRunner().invoke(app, ["runs", "--output-dir", "runs"])
    assert record.run_id in listed.output and "completed" in listed.output


def test_the_python_api_is_exported_lazily():
    import subprocess
    import sys

    code = ("import sys, greennlp; assert 'torch' not in sys.modules; "
            "assert callable(greennlp.track) and callable(greennlp.run_config); "
            "assert callable(greennlp.load_model); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr
