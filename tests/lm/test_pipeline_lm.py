"""``task: lm`` end to end on a tiny corpus made in the test (nothing downloaded)."""

import json

import pytest
import yaml
from huggingface_hub import ModelCard
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
    return load_config(None, [*TINY_LM, f"data.source={corpus_path}",
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
    for name in ("lstm", "gpt"):  # windows of the blocks they learned on: context 16 + 1
        assert record.model(name).efficiency["scoring"]["window"] == 17
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
    # a local corpus is no Hub dataset: no dataset id and no model-index claiming one
    assert header["pipeline_tag"] == "text-generation" and "datasets" not in header
    assert "model-index" not in header and header["license"] == "unknown"
    assert header["co2_eq_emissions"]["emissions"] > 0
    assert ModelCard.load(run.run_dir / "MODEL_CARD.md").data.pipeline_tag == "text-generation"
    assert "## Metrics" in card and "Bits per character" in card
    assert "documents" in (run.run_dir / "DATASHEET.md").read_text()
    assert "dev perplexity" in (run.run_dir / "CHECKLIST.md").read_text()
    assert store.list_runs(cfg.output_dir)[0]["status"] == "completed"
    _selects_loads_and_reports_the_best_dev_perplexity(record, cfg.output_dir)


def _selects_loads_and_reports_the_best_dev_perplexity(record, output_dir):
    """One selection for every reader: the lowest dev perplexity among the models sharing
    the tokenizer (the masked LM is no candidate), in the registry, the report, the card
    and ``greennlp.load_model``."""
    import greennlp

    candidates = [m for m in record.models if "perplexity" in m.dev]
    assert {m.name for m in candidates} == {"ngram", "lstm", "gpt"}
    best = min(candidates, key=lambda m: m.dev["perplexity"]["value"])
    assert record.select().name == best.name
    row = store.list_runs(output_dir)[0]
    assert row["best_model"] == best.name and row["selection_metric"] == "perplexity"
    assert row["best_test_score"] == pytest.approx(best.test["perplexity"]["value"])
    model = greennlp.load_model(record.run_id, output_dir=output_dir)
    assert type(model).__name__ in ("NgramLM", "NeuralLM")
    html = (record.path.parent / "report.html").read_text()
    assert f"selected on dev: <b>{best.name}</b>" in html
    card = (record.path.parent / "MODEL_CARD.md").read_text()
    assert f"# Model card: {best.name} language model" in card


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
    ok = runner.invoke(app, ["run", *TINY_LM, f"data.source={corpus_path}",
                             "lm.models=[ngram]", "lm.scaling.enabled=false",
                             f"output_dir={tmp_path / 'runs'}"])
    assert ok.exit_code == 0, ok.output
    assert "ngram: test perplexity" in ok.output and "bits/char" in ok.output
    for args, message in ((["lm.models=[gpt5]"], "Unknown language model 'gpt5'"),
                          ([f"data.source={tmp_path / 'none.txt'}"], "does not exist"),
                          (["lm.gpt.num_heads=3"], "divisible by lm.gpt.num_heads")):
        bad = runner.invoke(app, ["run", *TINY_LM, f"data.source={corpus_path}", *args,
                                  f"output_dir={tmp_path / 'bad'}"])
        assert bad.exit_code == 2 and message in bad.output and "Traceback" not in bad.output
        assert store.list_runs(tmp_path / "bad")[0]["status"] == "failed"


def test_classification_encoder_pretrained_as_a_masked_lm(csv_path, tmp_path):
    import greennlp

    cfg = load_config(None, [f"data.source={csv_path}", "data.group_column=movie",
                             f"output_dir={tmp_path / 'runs'}", *TINY_OVERRIDES,
                             "models=[transformer_mlm]", "lm.mlm.train.epochs=2"])
    record = tasks.execute(tasks.start(cfg, log=lambda m: None))
    model = record.model("transformer_mlm")
    pre = model.training.extra["pretraining"]
    assert pre["steps"] > 0 and pre["best_dev_loss"] > 0
    # pre-training learned: masked dev tokens are predicted better than a uniform guess over
    # the encoder's own vocabulary would predict them
    classifier = greennlp.load_model(record.run_id, "transformer_mlm", cfg.output_dir)
    assert pre["best_dev_perplexity"] < classifier.tokenizer.get_vocab_size()
    # then the same encoder was fine-tuned as a classifier and scored on test
    assert model.family == "transformer_mlm" and model.training.steps > 0
    test = model.test["accuracy"]
    assert test["low"] <= test["value"] <= test["high"]
    saved = json.loads((tmp_path / "runs" / record.run_id / "record.json").read_text())
    assert saved["status"] == "completed"


@pytest.fixture
def tiny_smollm2(monkeypatch, tmp_path):
    """A tiny randomly initialised Llama with its own tokenizer in SmolLM2's place (the
    real one is scored in test_running_text where it is cached): the adaptation stage runs."""
    import greennlp.models.smollm2 as smol
    from greennlp.models.lm_tokenizer import LmTokenizer
    from greennlp.models.neural_lm import NeuralLM
    from tests.lm.conftest import make_paragraphs

    tok = LmTokenizer.train(make_paragraphs(50, seed=9), 300)

    def load():
        import torch
        from transformers import LlamaConfig, LlamaForCausalLM

        torch.manual_seed(0)
        config = LlamaConfig(vocab_size=tok.vocab_size, hidden_size=32, intermediate_size=64,
                             num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                             max_position_embeddings=256, tie_word_embeddings=True)
        lm = NeuralLM(LlamaForCausalLM(config).eval(), tok, "smollm2", config.to_dict(), 256)
        lm.facts, lm.folder = {"source": "tiny stand-in", "converted_now": False}, tmp_path
        return lm

    monkeypatch.setattr(smol, "is_converted", lambda: True)
    monkeypatch.setattr(smol, "load_smollm2", load)


@pytest.mark.integration  # a whole LM run with SmolLM2 adapted
def test_lm_run_on_wrapped_paragraphs_scores_every_model_with_context(novel_path, tmp_path,
                                                                       tiny_smollm2):
    cfg = load_config(None, [*TINY_LM, "data.documents=paragraphs",
                             f"data.source={novel_path}", f"output_dir={tmp_path / 'runs'}",
                             "lm.models=[ngram,gpt,smollm2]", "lm.scaling.enabled=false",
                             "lm.evaluation.window=32", "lm.evaluation.stride=16",
                             "lm.evaluation.smollm2_chars=2000", "lm.smollm2.steps=2",
                             "lm.smollm2.block_size=32", "lm.smollm2.lr=0.01"])
    run = tasks.start(cfg, log=lambda m: None)
    record = tasks.execute(run)
    assert record.status == "completed"
    assert record.data["cleaning"]["rows_out"] == 120  # paragraphs, not wrapped lines
    names = [m.name for m in record.models]
    assert names == ["ngram", "gpt", "smollm2", "smollm2_adapted"]
    smol = [m.efficiency["test_documents"] for m in record.models if m.family == "smollm2"]
    assert smol[0] == smol[1] < record.model("gpt").efficiency["test_documents"]
    for m in record.models:
        assert m.efficiency["scoring"]["protocol"] == "stream"
        assert "case kept" in m.efficiency["tokenizer"]
        assert m.test["subsample_bits_per_char"]["value"] > 0
    assert record.model("gpt").efficiency["scoring"]["window"] == 17  # its context + 1
    adapted = record.model("smollm2_adapted")
    assert adapted.training.steps == 2 and adapted.training.tokens_trained == 2 * 2 * 32
    assert adapted.training.extra["dev_loss_after"] < adapted.training.extra["dev_loss_before"]
    assert record.stage("train:smollm2_adapted").energy_kwh is not None
    html = (run.run_dir / "report.html").read_text()
    assert "Quality against cost" in html and "smollm2_adapted: SmolLM2 trained further" in html
    assert "running text" in html
    assert "paragraphs" in (run.run_dir / "DATASHEET.md").read_text()


@pytest.mark.integration  # a whole LM run with SmolLM2 adapted through LoRA
def test_smollm2_adapts_with_lora_and_records_how(novel_path, tmp_path, tiny_smollm2):
    cfg = load_config(None, [*TINY_LM, "data.documents=paragraphs",
                             f"data.source={novel_path}", f"output_dir={tmp_path / 'runs'}",
                             "lm.models=[smollm2]", "lm.scaling.enabled=false",
                             "lm.evaluation.window=32", "lm.evaluation.stride=16",
                             "lm.evaluation.smollm2_chars=2000", "lm.smollm2.steps=2",
                             "lm.smollm2.block_size=32", "lm.smollm2.lr=0.01",
                             "lm.smollm2.finetune.method=lora", "lm.smollm2.finetune.lora_r=2"])
    run = tasks.start(cfg, log=lambda m: None)
    record = tasks.execute(run)
    assert record.status == "completed", record.error
    adapted = record.model("smollm2_adapted")
    facts = adapted.training.finetune
    assert facts["method"] == "lora" and facts["lora_r"] == 2
    assert 0 < facts["trainable_params"] < facts["total_params"] / 10
    assert adapted.training.seconds_per_step > 0
    # the adapted model differs from the pretrained one: the adapters were merged in
    assert adapted.test["perplexity"] != record.model("smollm2").test["perplexity"]
