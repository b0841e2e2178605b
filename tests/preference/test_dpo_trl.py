"""greennlp's DPO against the reference implementation: on the same pairs, the same model
and the same batch, the loss and every gradient equal TRL's ``DPOTrainer`` to 1e-5
(skipped where TRL is not installed; it is in the dev extra)."""

from __future__ import annotations

import copy

import pytest
import torch

from greennlp.models.continuations import completion_logps
from greennlp.train.dpo import DpoObjective, Pair, pair_batch
from tests.preference.conftest import _tokenizer_json, tiny_llama

trl = pytest.importorskip("trl")
datasets = pytest.importorskip("datasets")

PAIRS = [("the film is", " good and superb", " dull"),
         ("a plot", " witty", " messy and boring"),
         ("the director", " is lovely", " is awful"),
         ("boring scene", " but fresh", " and flat story")]


def _hf_tokenizer():
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(_tokenizer_json()),
                                   eos_token="<|endoftext|>", pad_token="<|pad|>")


def _as_pairs(batch: dict, reference, pad_id: int) -> list[Pair]:
    """TRL's collated batch (chosen rows, then rejected rows) as greennlp pairs."""
    def split(row: int) -> tuple[list[int], list[int]]:
        ids, att, comp = (batch[k][row].tolist() for k in
                          ("input_ids", "attention_mask", "completion_mask"))
        prompt = [t for t, a, c in zip(ids, att, comp) if a and not c]
        return prompt, [t for t, c in zip(ids, comp) if c]
    n = batch["input_ids"].shape[0] // 2
    out = []
    for i in range(n):
        prompt, chosen = split(i)
        prompt_r, rejected = split(i + n)
        assert prompt == prompt_r
        ref_c, ref_r = completion_logps(reference, [prompt, prompt], [chosen, rejected], pad_id)
        out.append(Pair(prompt, chosen, rejected, float(ref_c), float(ref_r)))
    return out


@pytest.mark.parametrize("beta", [0.1, 0.7])
def test_loss_and_gradients_equal_trl_dpo_trainer(tmp_path, beta):
    from trl import DPOConfig, DPOTrainer

    reference = tiny_llama().module
    policy = copy.deepcopy(reference)
    torch.manual_seed(1)
    with torch.no_grad():  # a policy that already differs from its reference
        for p in policy.parameters():
            p.add_(0.02 * torch.randn_like(p))
    ours = copy.deepcopy(policy)
    data = datasets.Dataset.from_dict({"prompt": [p for p, _, _ in PAIRS],
                                       "chosen": [c for _, c, _ in PAIRS],
                                       "rejected": [r for _, _, r in PAIRS]})
    # fp32 like greennlp on a CPU: DPOConfig's defaults are bf16 autocast (where the CPU has
    # it) and gradient checkpointing
    args = DPOConfig(output_dir=str(tmp_path), beta=beta, per_device_train_batch_size=len(PAIRS),
                     report_to=[], use_cpu=True, max_length=None, dataloader_num_workers=0,
                     seed=0, bf16=False, gradient_checkpointing=False)
    trainer = DPOTrainer(model=policy, ref_model=reference, args=args, train_dataset=data,
                         processing_class=_hf_tokenizer())
    batch = next(iter(trainer.get_train_dataloader()))
    trainer.model.train()
    loss_trl = trainer.compute_loss(trainer.model, batch)
    loss_trl.backward()

    pairs = _as_pairs(batch, reference, _hf_tokenizer().pad_token_id)
    assert all(p.chosen[-1] == _hf_tokenizer().eos_token_id for p in pairs)  # TRL adds the end
    out = DpoObjective(ours, beta)(**pair_batch(pairs, _hf_tokenizer().pad_token_id))
    out.loss.backward()
    assert out.loss.item() == pytest.approx(loss_trl.item(), abs=1e-5)
    assert abs(out.loss.item() - 0.6931) > 1e-3  # not the trivial loss at the reference
    theirs = dict(trainer.model.named_parameters())
    for name, p in ours.named_parameters():
        assert theirs[name].grad is not None and p.grad is not None, name
        torch.testing.assert_close(p.grad, theirs[name].grad, atol=1e-5, rtol=0, msg=name)
