"""A whole preference run on a tiny random Llama and the test data: every stage, the test
gate, the saved pairs and texts, the report, card and datasheet; a judge taken from a
classification run with full fine-tuning; resuming; bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import greennlp
from greennlp import tasks
from greennlp.cli import app
from greennlp.record import RunRecord
from tests.conftest import TINY_OVERRIDES, make_frame
from tests.preference.conftest import TINY, tiny_run

runner = CliRunner()
POLICIES = [f"{TINY}_dpo_b0.1", f"{TINY}_dpo_b1"]


def _execute(overrides: list[str]) -> RunRecord:
    return tasks.execute(tasks.start(tasks.load_config(None, overrides), log=lambda m: None))


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def lora_run(tiny_decoder, tmp_path_factory) -> RunRecord:
    """One run shared by the tests that only read it (the default: LoRA, judge trained here)."""
    folder = tmp_path_factory.mktemp("lora_run")
    make_frame().to_csv(folder / "reviews.csv", index=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GREENNLP_PROGRESS", "0")
        return _execute(tiny_run(folder / "reviews.csv", folder / "runs"))


def test_every_model_is_scored_once_on_held_out_prompts(lora_run):
    record = lora_run
    assert record.status == "completed"
    names = [m.name for m in record.models]
    assert names == ["judge", TINY, f"{TINY}_best_of_2", f"{TINY}_best_of_4", *POLICIES]
    assert record.tested == ["judge", TINY, *POLICIES] and record.test_evaluations == 4
    for m in record.models[1:]:
        for key in ("reward", "win_rate", "kl"):
            s = m.test[key]
            assert s["low"] - 1e-9 <= s["value"] <= s["high"] + 1e-9, (m.name, key)
    assert record.model(TINY).test["kl"]["value"] == 0.0
    assert record.model(f"{TINY}_best_of_4").test["kl"]["value"] == pytest.approx(
        math.log(4) - 3 / 4)
    assert record.select().name in [TINY, *POLICIES]  # best-of-n has no dev score
    assert record.selection["metric"] == "win_rate"
    for name in POLICIES:
        t = record.model(name).training
        assert t.steps == 4 and t.extra["beta"] in (0.1, 1.0) and t.extra["pairs_per_s"] > 0


def test_pairs_prompts_and_texts_are_saved_with_their_scores(lora_run):
    folder = Path(lora_run.run_dir) / "preference"
    prompts = json.loads((folder / "prompts.json").read_text())
    assert len(prompts["train"]) == 16 and len(prompts["test"]) == 6
    assert not set(prompts["test"]) & set(prompts["train"])
    rows = _jsonl(folder / "pairs.jsonl")
    assert len(rows) == 16 and all(len(r["samples"]) == 3 for r in rows)
    paired = [r for r in rows if "chosen" in r]
    assert len(paired) == lora_run.stage("pairs").metrics["pairs"] > 0
    for r in paired:
        rewards = [s["reward"] for s in r["samples"]]
        assert rewards[r["chosen"]] == max(rewards) > rewards[r["rejected"]] == min(rewards)
    for name in POLICIES:
        test = _jsonl(folder / "samples" / f"{name}_test.jsonl")
        assert [t["prompt"] for t in test] == prompts["test"]
        mean = np.mean([t["answers"][0]["reward"] for t in test])
        assert mean == pytest.approx(lora_run.model(name).test["reward"]["value"])
        kl = np.mean([t["log_ratio"] for t in test])
        assert kl == pytest.approx(lora_run.model(name).test["kl"]["value"])
    reference = _jsonl(folder / "samples" / f"{TINY}_test.jsonl")
    assert all(len(t["answers"]) == 5 for t in reference)  # baseline + best-of-4's samples


def test_report_card_and_datasheet(lora_run):
    folder = Path(lora_run.run_dir)
    html = (folder / "report.html").read_text()
    assert "Preference tuning" in html and "frontier" in html and "data:image/png;base64" in html
    assert "Cost at equal work" in html and f"{TINY}_best_of_4" in html
    card = (folder / "MODEL_CARD.md").read_text()
    assert "not a person's" in card and "test accuracy" in card and "tfidf\\_logreg" in card
    sheet = (folder / "DATASHEET.md").read_text()
    assert f"{lora_run.stage('pairs').metrics['pairs']} pairs" in sheet
    rows = {r["name"]: r for r in lora_run.stage("compare").metrics["rows"]}
    assert set(rows) == {m.name for m in lora_run.models[1:]}
    assert rows[TINY]["fixed"]["energy_kwh"] == 0.0 and rows[TINY]["made_by"] == []
    assert rows[POLICIES[0]]["made_by"] == ["judge", "pairs", f"train:{POLICIES[0]}"]
    four, ref = rows[f"{TINY}_best_of_4"], rows[TINY]
    assert four["per_answer"]["energy_kwh"] > 3 * ref["per_answer"]["energy_kwh"] > 0
    lines = tasks.summary(lora_run)
    assert lines and lines[0].row_count == 5


def test_generated_text_is_escaped_in_the_report(lora_run):
    import copy

    from greennlp.report.preference_html import render_section

    record = copy.deepcopy(lora_run)
    stage = record.stage(f"evaluate:{POLICIES[0]}")
    stage.metrics["examples"][POLICIES[0]][0]["text"] = "<script>alert(1)</script>"
    html = render_section(record)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html


def test_a_policy_reloads_from_its_folder(lora_run):
    from greennlp.models.continuations import completion_logps, prompt_ids

    runs = str(Path(lora_run.run_dir).parent)
    model = greennlp.load_model(lora_run.run_id, POLICIES[1], output_dir=runs)
    ids = prompt_ids(model.tokenizer, ["the film is"])
    assert np.isfinite(completion_logps(model.module, ids, [[5, 6]], model.tokenizer.pad_id)).all()


def test_judge_from_a_classification_run_and_full_fine_tuning(tiny_decoder, csv_path, tmp_path):
    runs = tmp_path / "runs"
    judge = _execute([*TINY_OVERRIDES, "models=[tfidf_logreg]", f"data.source={csv_path}",
                      f"output_dir={runs}"])
    record = _execute(tiny_run(csv_path, runs, f"preference.judge={judge.run_id}",
                               "preference.lora=false", "preference.betas=[0.5]",
                               "preference.best_of=[2]", "preference.lr=0.001"))
    facts = record.stage("judge").metrics
    assert facts["source"] == f"run {judge.run_id}" and facts["same_splits"] is True
    assert facts["test_accuracy"] == judge.model("tfidf_logreg").test["accuracy"]
    assert "judge" not in [m.name for m in record.models]  # not made here, not scored here
    assert record.tested == [TINY, f"{TINY}_dpo_b0.5"]
    folder = Path(record.model(f"{TINY}_dpo_b0.5").checkpoint)
    assert (folder / "model.safetensors").exists()
    assert not (folder / "adapters.safetensors").exists()


def test_a_failed_run_resumes_without_redoing_the_pairs(tiny_decoder, csv_path, tmp_path,
                                                        monkeypatch):
    from greennlp.tasks import preference_eval

    calls = []
    real = preference_eval._train

    def crash_once(run, beta):
        if not calls:
            calls.append(beta)
            raise RuntimeError("killed")
        return real(run, beta)
    monkeypatch.setattr(preference_eval, "_train", crash_once)
    runs = tmp_path / "runs"
    with pytest.raises(RuntimeError):
        _execute(tiny_run(csv_path, runs))
    (failed,) = [p for p in runs.iterdir() if p.is_dir()]
    pairs = (failed / "preference" / "pairs.jsonl").read_bytes()
    record = tasks.execute(tasks.resume(failed.name, str(runs), log=lambda m: None))
    assert record.status == "completed"
    assert [s.name for s in record.stages].count("pairs") == 1
    assert (failed / "preference" / "pairs.jsonl").read_bytes() == pairs
    assert record.tested == ["judge", TINY, *POLICIES]


@pytest.mark.parametrize("setting, message", [
    ("preference.judge=20990101-000000-beef", "no run has that id"),
    ("preference.target=happy", "a class the judge (tfidf_logreg) does not know; choose one "
                                "of: neg, pos."),
    ("preference.model=gpt", "choose one of:"),
    ("preference.betas=[0.1,-1]", "at least one beta above 0"),
])
def test_bad_input_is_one_sentence_and_exit_2(tiny_decoder, csv_path, tmp_path, setting, message):
    result = runner.invoke(app, ["run", *tiny_run(csv_path, tmp_path / "runs", setting)])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in result.output and "Traceback" not in result.output


def test_a_judge_run_must_be_a_classification_run_that_knows_the_target(lora_run, csv_path):
    runs = Path(lora_run.run_dir).parent
    result = runner.invoke(app, ["run", *tiny_run(csv_path, runs,
                                                  f"preference.judge={lora_run.run_id}")])
    assert result.exit_code == 2 and "a preference run" in result.output
    judge = _execute([*TINY_OVERRIDES, "models=[tfidf_logreg]", f"data.source={csv_path}",
                      f"output_dir={runs}"])
    result = runner.invoke(app, ["run", *tiny_run(csv_path, runs,
                                                  f"preference.judge={judge.run_id}",
                                                  "preference.target=fresh")])
    assert result.exit_code == 2 and "choose one of: neg, pos" in result.output
