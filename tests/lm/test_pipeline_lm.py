"""``task: lm`` end to end on a tiny corpus made in the test (nothing downloaded)."""

import json

import pytest
import yaml
from typer.testing import CliRunner

from greennlp import store, tasks
from greennlp.cli import app
from greennlp.tasks import load_config
from greennlp.record import RunRecord
from tests.conftest import TINY_OVERRIDES
from tests.lm.conftest import TINY_LM


@pytest.fixture
def no_smollm2(monkeypatch):
    import greennlp.models.smollm2 as smol

    monkeypatch.setattr(smol, "is_converted", lambda: False)
    monkeypatch.setattr(smol, "missing_packages", lambda: ["gguf"])


def _cfg(corpus_path, tmp_path, *extra):
    return load_config(None, [*TINY_LM, f"lm.corpus.source={corpus_path}",
                              f"output_dir={tmp_path / 'runs'}", *extra])


def test_lm_run_trains_scores_and_reports(corpus_path, tmp_path, no_smollm2):
    cfg = _cfg(corpus_path, tmp_path, "lm.models=[ngram,lstm,gpt,bert_mlm,smollm2]")
    run = tasks.start(cfg, log=lambda m: None)
    record = tasks.execute(run)
    assert record.status == "completed"
    assert [s.name for s in record.stages] == [
        "data", "audit", "tokenizer", "train:ngram", "evaluate:ngram", "train:lstm", "evaluate:lstm",
        "train:gpt", "evaluate:gpt", "train:bert_mlm", "evaluate:bert_mlm", "scaling", "audit:clean_test",
        "report"]
    assert any("smollm2 skipped" in n for n in record.notes)
    assert record.test_evaluations == 4
    for m in record.models:
        metric = "masked_perplexity" if m.name == "bert_mlm" else "perplexity"
        test = m.test[metric]
        assert test["low"] <= test["value"] <= test["high"] and test["value"] > 1
        assert m.params_total > 0 and f"subsample_{metric}" in m.test
    gpt = record.model("gpt")
    assert gpt.test["perplexity"]["value"] < 300 / 3  # far better than uniform over 300 tokens
    assert gpt.training.tokens_per_s > 0 and gpt.training.extra["world_size"] == 1
    assert gpt.training.accounting["training_flops_per_token"] == \
        3 * gpt.efficiency["forward_flops_per_token"]
    assert "compute-optimal" in gpt.training.compute_optimality["verdict"]
    clean = record.data["audit"]["clean_test"]
    assert set(clean["models"]) == {"ngram", "lstm", "gpt", "bert_mlm"}
    if clean["removed"] == 0:  # nothing near-duplicates train: the clean score is the score
        assert clean["models"]["gpt"]["perplexity"]["value"] == \
            pytest.approx(gpt.test["perplexity"]["value"])
    sweep = record.stage("scaling").metrics
    assert [r["width"] for r in sweep["runs"]] == [8, 16]
    assert len(sweep["runs"][0]["curve"]) >= 2 and "exponent" in sweep["fit"]["loss_vs_params"]
    samples = record.stage("evaluate:gpt").metrics["samples"]
    assert [s["prompt"] for s in samples] == list(cfg.lm.sampling.prompts)
    for s in record.stages:
        assert s.energy_kwh is not None and s.co2_kg is not None and s.duration_s > 0
    html = (run.run_dir / "report.html").read_text()
    assert "Language models" in html and "Scaling sweep" in html and "bits per character" in html
    assert html.count("data:image/png;base64,") >= 4 and 'src="http' not in html
    card = (run.run_dir / "MODEL_CARD.md").read_text()
    header = yaml.safe_load(card.split("---")[1])
    result = header["model-index"][0]["results"][0]
    assert result["task"]["type"] == "text-generation"
    assert [m["type"] for m in result["metrics"]] == ["perplexity", "bits_per_character"]
    assert "## Metrics" in card and "Bits per character" in card
    assert "documents" in (run.run_dir / "DATASHEET.md").read_text()
    assert "dev perplexity" in (run.run_dir / "CHECKLIST.md").read_text()
    assert store.list_runs(cfg.output_dir)[0]["status"] == "completed"


def test_crashed_lm_run_resumes_without_redoing_finished_stages(corpus_path, tmp_path,
                                                                monkeypatch):
    import greennlp.tasks.lm_stages as lm_eval  # where the stage calls it

    cfg = _cfg(corpus_path, tmp_path, "lm.models=[ngram,gpt]", "lm.scaling.enabled=false")
    run = tasks.start(cfg, log=lambda m: None)
    real = lm_eval.evaluate_lm
    calls = {"n": 0}

    def crash_on_gpt(model, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("power cut")
        return real(model, *args, **kwargs)

    monkeypatch.setattr(lm_eval, "evaluate_lm", crash_on_gpt)
    with pytest.raises(RuntimeError):
        tasks.execute(run)
    failed = RunRecord.load(run.run_dir)
    assert failed.status == "failed" and failed.stage("train:gpt") and not failed.stage("evaluate:gpt")
    before = {s.name: s.started_at for s in failed.stages if s.status == "ok"}
    resumed = tasks.execute(tasks.resume(run.record.run_id, cfg.output_dir, log=lambda m: None))
    assert resumed.status == "completed" and resumed.test_evaluations == 2
    assert all(s.started_at == before[s.name] for s in resumed.stages if s.name in before)


def test_lm_command_line(corpus_path, tmp_path, no_smollm2):
    runner = CliRunner()
    ok = runner.invoke(app, ["run", *TINY_LM, f"lm.corpus.source={corpus_path}",
                             "lm.models=[ngram]", "lm.scaling.enabled=false",
                             f"output_dir={tmp_path / 'runs'}"])
    assert ok.exit_code == 0, ok.output
    assert "ngram: test perplexity" in ok.output and "bits/char" in ok.output
    for args, message in ((["lm.models=[gpt5]"], "Unknown language model 'gpt5'"),
                          ([f"lm.corpus.source={tmp_path / 'none.txt'}"], "does not exist"),
                          (["lm.gpt.num_heads=3"], "divisible by lm.gpt.num_heads")):
        bad = runner.invoke(app, ["run", *TINY_LM, f"lm.corpus.source={corpus_path}", *args,
                                  f"output_dir={tmp_path / 'bad'}"])
        assert bad.exit_code == 2 and message in bad.output and "Traceback" not in bad.output
        assert store.list_runs(tmp_path / "bad")[0]["status"] == "failed"


def test_classification_encoder_pretrained_as_a_masked_lm(csv_path, tmp_path):
    cfg = load_config(None, [f"data.source={csv_path}", "data.group_column=movie",
                             f"output_dir={tmp_path / 'runs'}", *TINY_OVERRIDES,
                             "models=[transformer_mlm]", "lm.mlm.train.epochs=2"])
    record = tasks.execute(tasks.start(cfg, log=lambda m: None))
    model = record.model("transformer_mlm")
    pre = model.training.extra["pretraining"]
    assert pre["steps"] > 0 and pre["best_dev_loss"] > 0
    assert model.test["accuracy"]["value"] >= 0.0 and model.family == "transformer_mlm"
    saved = json.loads((tmp_path / "runs" / record.run_id / "record.json").read_text())
    assert saved["status"] == "completed"
