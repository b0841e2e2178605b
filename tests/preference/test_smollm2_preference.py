"""The real path: a small preference run of the bundled SmolLM2 on the default data (the
GGUF is fetched and converted on first use; the default dataset is fetched too)."""

from __future__ import annotations

import pytest

from greennlp import tasks


@pytest.mark.integration
def test_a_small_preference_run_of_smollm2(tmp_path):
    pytest.importorskip("peft")
    cfg = tasks.load_config(None, [
        "task=preference", f"output_dir={tmp_path / 'runs'}", "preference.train_prompts=8",
        "preference.samples_per_prompt=2", "preference.dev_prompts=4",
        "preference.test_prompts=4", "preference.max_new_tokens=6", "preference.betas=[0.1]",
        "preference.steps=2", "preference.batch_size=4", "preference.best_of=[2]",
        "evaluate.bootstrap_samples=100"])
    record = tasks.execute(tasks.start(cfg, log=lambda m: None))
    assert record.status == "completed"
    judge = record.stage("judge").metrics
    assert judge["target"] == "fresh" and 0.6 < judge["test_accuracy"]["value"] < 0.9
    policy = record.model("smollm2_dpo_b0.1")
    assert policy.training.steps == 2 and set(policy.test) == {"reward", "win_rate", "kl"}
    assert record.tested == ["judge", "smollm2", "smollm2_dpo_b0.1"]
