"""DPO's parts on a tiny random Llama: completion log-probabilities, sampling from the model
itself, the loss and what training does with it, and LoRA checkpoints."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from greennlp.config import TrainConfig
from greennlp.models.continuations import (completion_batch, completion_logps, prompt_ids,
                                           sample, sequence_logps)
from greennlp.train.dpo import DpoObjective, Pair, dpo_loss, fit_dpo, pair_batch
from tests.preference.conftest import tiny_llama

PROMPTS = ["the film is", "a plot", "boring", "the director is superb and"]


def _full_logits_logp(module, prompt: list[int], completion: list[int]) -> float:
    ids = torch.tensor([prompt + completion])
    with torch.no_grad():
        logp = torch.log_softmax(module(input_ids=ids).logits[0, :-1].float(), -1)
    return float(logp[len(prompt) - 1:].gather(-1, ids[0, len(prompt):, None]).sum())


def test_completion_logps_equal_the_full_forward_and_ignore_padding():
    lm = tiny_llama()
    prompts = prompt_ids(lm.tokenizer, PROMPTS)
    completions = [[5, 6, 7], [8], [9, 10, 11, 12, 13], [14, 15]]
    got = completion_logps(lm.module, prompts, completions, lm.tokenizer.pad_id, batch_size=3)
    want = [_full_logits_logp(lm.module, p, c) for p, c in zip(prompts, completions)]
    np.testing.assert_allclose(got, want, atol=1e-4)
    batch = completion_batch(prompts, completions, lm.tokenizer.pad_id)
    assert batch["completion_mask"].sum(1).tolist() == [3, 1, 5, 2]
    assert (batch["completion_mask"] <= batch["attention_mask"]).all()


def test_samples_come_from_the_model_itself_under_left_padding():
    """The probabilities the sampler drew from (its raw logits, left-padded batches) equal
    the ones completion_logps computes, so Monte-Carlo KL estimates are unbiased."""
    from transformers import GenerationConfig

    lm = tiny_llama()
    prompts = prompt_ids(lm.tokenizer, PROMPTS)
    width = max(map(len, prompts))
    ids = torch.tensor([[lm.tokenizer.pad_id] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    config = GenerationConfig(do_sample=True, temperature=1.0, top_k=0, top_p=1.0,
                              max_new_tokens=6, eos_token_id=[lm.tokenizer.eos_id],
                              pad_token_id=lm.tokenizer.pad_id)
    torch.manual_seed(3)
    out = lm.module.generate(input_ids=ids, attention_mask=mask, generation_config=config,
                             return_dict_in_generate=True, output_logits=True, output_scores=True)
    for row, p in enumerate(prompts):
        new = out.sequences[row, width:].tolist()
        stop = new.index(lm.tokenizer.eos_id) + 1 if lm.tokenizer.eos_id in new else len(new)
        drawn = sum(float(torch.log_softmax(out.logits[t][row].float(), -1)[new[t]])
                    for t in range(stop))
        assert torch.equal(out.logits[0], out.scores[0])  # nothing reshaped the distribution
        scored = completion_logps(lm.module, [p], [new[:stop]], lm.tokenizer.pad_id)[0]
        assert drawn == pytest.approx(scored, abs=1e-4)


def test_sample_is_seeded_and_keeps_the_stop_token():
    lm = tiny_llama()
    prompts = prompt_ids(lm.tokenizer, PROMPTS)
    a = sample(lm.module, prompts, 3, 8, [lm.tokenizer.eos_id], lm.tokenizer.pad_id, seed=1,
               batch_size=5)
    b = sample(lm.module, prompts, 3, 8, [lm.tokenizer.eos_id], lm.tokenizer.pad_id, seed=1,
               batch_size=5)
    assert a == b and len(a) == 4 and all(len(row) == 3 for row in a)
    for row in a:
        for c in row:
            assert 1 <= len(c) <= 8
            assert lm.tokenizer.eos_id not in c[:-1]  # only as the last token, if sampled


def test_dpo_loss_is_log2_at_the_reference_and_falls_with_the_margin():
    t = torch.tensor
    loss, margin = dpo_loss(t([-3.0, -2.0]), t([-4.0, -1.0]), t([-3.0, -2.0]), t([-4.0, -1.0]), 0.1)
    assert float(loss) == pytest.approx(math.log(2)) and margin.tolist() == [0.0, 0.0]
    better, _ = dpo_loss(t([-2.0]), t([-5.0]), t([-3.0]), t([-4.0]), 0.5)
    assert float(better) == pytest.approx(-math.log(1 / (1 + math.exp(-1.0))), abs=1e-6)


def _pairs(lm, n: int = 12) -> list[Pair]:
    """Pairs whose chosen completions are 'good ...' words, rejected 'bad ...' words."""
    tok = lm.tokenizer
    prompts = prompt_ids(tok, [f"the film {w}" for w in ("is", "was", "looks", "seems")] * 3)
    good, bad = tok.encode([" good great superb"])[0], tok.encode([" bad dull awful"])[0]
    ref_good = completion_logps(lm.module, prompts[:n], [good] * n, tok.pad_id)
    ref_bad = completion_logps(lm.module, prompts[:n], [bad] * n, tok.pad_id)
    return [Pair(p, good, bad, float(g), float(b))
            for p, g, b in zip(prompts[:n], ref_good, ref_bad)]


@pytest.mark.parametrize("lora", [False, True])
def test_training_raises_the_chosen_over_the_rejected(tmp_path, lora):
    from greennlp.models.lora import LoraSpec, add_lora

    lm = tiny_llama()
    pairs = _pairs(lm)
    module = add_lora(lm.module, LoraSpec(4, 8.0, ("q_proj", "v_proj"))) if lora else lm.module
    cfg = TrainConfig(batch_size=4, lr=5e-3 if lora else 1e-3, weight_decay=0.0,
                      warmup_fraction=0.0, patience=5, max_steps=12, min_steps=0)
    info = fit_dpo(module, pairs[:8], pairs[8:], beta=0.5, cfg=cfg, pad_id=lm.tokenizer.pad_id,
                   ckpt_dir=tmp_path, seed=0, desc="dpo")
    assert info["steps"] == 12 and info["epochs_run"] == 6
    losses = [h["train_loss"] for h in info["history"]]
    assert losses[0] < math.log(2) + 1e-4  # the first batch at log 2, the next one lower
    assert losses[-1] < losses[0] - 0.1
    assert info["held_out"][-1]["reward_accuracy"] == 1.0 and info["held_out"][-1]["margin"] > 0
    trained = set(DpoObjective(module, 0.5).state_dict())
    assert all("lora_" in k for k in trained) == lora and trained


def test_objective_checkpoints_round_trip_and_refuse_nothing():
    from greennlp.models.lora import LoraSpec, add_lora

    lm = tiny_llama()
    objective = DpoObjective(add_lora(lm.module, LoraSpec(2, 4.0, ("q_proj",))), 0.1)
    state = {k: torch.randn_like(v) for k, v in objective.state_dict().items()}
    result = objective.load_state_dict(state)
    assert not result.missing_keys and not result.unexpected_keys
    assert all(torch.equal(objective.state_dict()[k], v) for k, v in state.items())


def test_tuned_policy_saves_adapters_and_reloads_merged(tmp_path, tiny_decoder):
    from greennlp.models import load_model
    from greennlp.models.lora import LoraSpec, add_lora, merged
    from greennlp.models.tuned_decoder import save_tuned

    lm = tiny_llama()
    spec = LoraSpec(2, 4.0, ("q_proj", "v_proj"))
    adapted = add_lora(lm.module, spec)
    with torch.no_grad():
        for name, p in adapted.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)  # as if trained
    folder = save_tuned(tmp_path / "policy", lm, adapted, tiny_decoder, spec, {"beta": 0.1})
    assert (folder / "adapters.safetensors").stat().st_size < 50_000
    prompts = prompt_ids(lm.tokenizer, PROMPTS)
    completions = [[5, 6], [7], [8, 9], [10]]
    want = completion_logps(merged(adapted), prompts, completions, lm.tokenizer.pad_id)
    loaded = load_model(folder)
    got = completion_logps(loaded.module, prompts, completions, lm.tokenizer.pad_id)
    np.testing.assert_allclose(got, want, atol=1e-5)
    base = completion_logps(tiny_llama().module, prompts, completions, lm.tokenizer.pad_id)
    assert np.abs(got - base).max() > 1e-3  # the adapters changed the model


def test_pair_batch_puts_chosen_rows_first():
    pairs = [Pair([0, 1], [2], [3, 4], -1.0, -2.0), Pair([0], [5, 6], [7], -3.0, -4.0)]
    batch = pair_batch(pairs, pad_id=0)
    assert batch["input_ids"].tolist() == [[0, 1, 2, 0], [0, 5, 6, 0], [0, 1, 3, 4], [0, 7, 0, 0]]
    assert batch["completion_mask"].tolist() == [[0, 0, 1, 0], [0, 1, 1, 0], [0, 0, 1, 1],
                                                 [0, 1, 0, 0]]
    assert batch["ref_logps"].tolist() == [-1.0, -3.0, -2.0, -4.0]
    lm = tiny_llama()
    logps = sequence_logps(lm.module, **{k: v for k, v in batch.items() if k != "ref_logps"})
    assert logps.shape == (4,) and logps.requires_grad
