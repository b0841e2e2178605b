import numpy as np
import pytest
import torch

from greennlp.compress.pruning import (MagnitudePruner, cubic_sparsity, make_permanent, prunable,
                                       prune_to, sparsity_facts)
from greennlp.models.classifier import EncoderClassifier
from tests.compress.conftest import FAST, tiny_classifier


def weights(model):
    return {name: m.weight.detach().clone() for name, m in prunable(model)}


@pytest.mark.parametrize("sparsity", [0.5, 0.7, 0.9, 0.95])
def test_global_magnitude_pruning_is_exact_and_drops_the_smallest(splits, sparsity):
    clf = tiny_classifier(splits, train=False)
    before = weights(clf.model)
    layers = prunable(clf.model)
    prune_to(layers, sparsity)
    make_permanent(layers)
    after = weights(clf.model)
    total = sum(w.numel() for w in after.values())
    zeros = sum(int((w == 0).sum()) for w in after.values())
    assert zeros == round(sparsity * total)
    kept = torch.cat([before[k][after[k] != 0].abs() for k in after])
    dropped = torch.cat([before[k][after[k] == 0].abs() for k in after])
    assert kept.min() >= dropped.max()  # one global magnitude threshold
    for k in after:  # survivors are untouched
        assert torch.equal(after[k][after[k] != 0], before[k][after[k] != 0])
    facts = sparsity_facts(clf.model)
    assert facts["pruned_weights_nonzero"] == total - zeros
    recount = sum(int((p != 0).sum()) for p in clf.model.parameters())
    assert facts["params_nonzero"] == recount


def test_per_layer_scope_prunes_each_layer_to_the_target(splits):
    clf = tiny_classifier(splits, train=False)
    layers = prunable(clf.model)
    prune_to(layers, 0.7, scope="per_layer")
    make_permanent(layers)
    for _, m in layers:
        assert int((m.weight == 0).sum()) == round(0.7 * m.weight.numel())


def test_random_baseline_hits_the_sparsity_with_a_different_mask(splits):
    a, b = tiny_classifier(splits, train=False), tiny_classifier(splits, train=False)
    torch.manual_seed(0)
    prune_to(prunable(a.model), 0.5, criterion="random")
    prune_to(prunable(b.model), 0.5)
    make_permanent(prunable(a.model))
    make_permanent(prunable(b.model))
    assert sparsity_facts(a.model)["sparsity"] == pytest.approx(0.5, abs=1e-3)
    mask_a = torch.cat([(m.weight == 0).flatten() for _, m in prunable(a.model)])
    mask_b = torch.cat([(m.weight == 0).flatten() for _, m in prunable(b.model)])
    assert (mask_a != mask_b).float().mean() > 0.2


def test_pruning_only_tightens():
    sched = [cubic_sparsity(t, 0.9, 40, every=5) for t in range(60)]
    assert sched[0] == 0.0 and sched[-1] == pytest.approx(0.9)
    assert all(b >= a for a, b in zip(sched, sched[1:]))
    assert sched[20] == pytest.approx(0.9 - 0.9 * 0.5 ** 3)


@pytest.mark.parametrize("schedule", ["one_shot", "gradual"])
def test_fine_tuned_pruned_model_keeps_its_zeros_and_round_trips(splits, ctx, trained, schedule,
                                                                  tmp_path):
    pruner = MagnitudePruner(0.8, schedule=schedule, train_cfg=FAST, every=2)
    pruned = pruner.compress(trained, ctx)
    facts = pruner.describe()
    assert facts["sparsity"] == pytest.approx(0.8, abs=1e-3)
    assert facts["fine_tuning"]["steps"] > 0
    # The source model is untouched.
    assert sparsity_facts(trained.model)["sparsity"] < 0.01
    again = EncoderClassifier.load(pruned.save(tmp_path / "m"))
    assert sparsity_facts(again.model)["pruned_weights_nonzero"] == facts["pruned_weights_nonzero"]
    texts = splits.dev["text"].tolist()
    assert np.allclose(again.predict_proba(texts), pruned.predict_proba(texts), atol=1e-6)
    assert "no speed-up" in facts["speed_note"]


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError):
        MagnitudePruner(1.0)
    with pytest.raises(ValueError):
        MagnitudePruner(0.5, schedule="gradual")
