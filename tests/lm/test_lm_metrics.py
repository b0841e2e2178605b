import numpy as np
import pytest
import torch

from greennlp.evaluate.lm_eval import subsample_index
from greennlp.evaluate.perplexity import document_chars, lm_scores
from greennlp.models.sampling import filter_logits, next_token
from greennlp.measure.peak import matmul_peak, model_flops_utilisation


def test_perplexity_bits_per_char_and_intervals():
    rng = np.random.default_rng(0)
    tokens = rng.integers(5, 30, size=200)
    nll = tokens * rng.uniform(2.0, 4.0, size=200)
    chars = tokens * 4
    s = lm_scores(nll, tokens, chars, n_samples=300, seed=1)
    xent = nll.sum() / tokens.sum()
    assert s["perplexity"]["value"] == pytest.approx(np.exp(xent))
    assert s["bits_per_char"]["value"] == pytest.approx(nll.sum() / np.log(2) / chars.sum())
    for m in s.values():
        assert m["low"] < m["value"] < m["high"]
    again = lm_scores(nll, tokens, chars, n_samples=300, seed=1)
    assert again == s  # seeded
    assert "bits_per_char" not in lm_scores(nll, tokens, None, n_samples=10)
    assert document_chars(["ab", ""]).tolist() == [3, 1]


def test_top_k_top_p_and_temperature():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isinf(filter_logits(logits, top_k=2)).tolist() == [[False, False, True, True]]
    # the nucleus of mass 0.7 is {0.5, 0.3}; of 0.5 is {0.5}
    assert torch.isinf(filter_logits(logits, top_p=0.7)).tolist() == [[False, False, True, True]]
    assert torch.isinf(filter_logits(logits, top_p=0.5)).tolist() == [[False, True, True, True]]
    assert next_token(logits, temperature=0).tolist() == [0]
    gen = torch.Generator().manual_seed(0)
    draws = [int(next_token(logits, temperature=1.0, top_k=2, generator=gen)) for _ in range(400)]
    assert set(draws) == {0, 1} and 0.5 < draws.count(0) / 400 < 0.75  # renormalised 5/8
    cold = [int(next_token(logits, temperature=0.05, generator=gen)) for _ in range(50)]
    assert set(cold) == {0}


def test_subsample_is_seeded_and_without_replacement():
    idx = subsample_index(100, 30, seed=3)
    assert len(set(idx.tolist())) == 30 and np.all(np.diff(idx) > 0)
    assert subsample_index(100, 30, seed=3).tolist() == idx.tolist()
    assert subsample_index(5, 30, seed=3).tolist() == [0, 1, 2, 3, 4]


def test_matmul_peak_and_mfu():
    peak = matmul_peak(n=256, repeats=3)
    assert peak["gflops_min"] <= peak["gflops_median"] <= peak["gflops_max"]
    assert peak["gflops_median"] > 0.1 and peak["dtype"] == "float32"
    assert model_flops_utilisation(2e6, 1000, 4.0) == pytest.approx(0.5)
