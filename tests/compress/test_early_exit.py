import numpy as np
import pytest
import torch

from greennlp.compress.early_exit import copy_with_exits
from greennlp.compress.exit_classifier import EarlyExit, pick_threshold
from greennlp.models.early_exit import EarlyExitClassifier, simulate_exits
from greennlp.models.classifier import EncoderClassifier
from tests.compress.conftest import FAST


def exit_clf(trained, threshold=1.0, temps=None):
    net = copy_with_exits(trained.model, None)
    if temps is not None:
        net.temperatures.copy_(torch.tensor(temps))
    text = EncoderClassifier(net.base, trained.tokenizer, trained.labels, trained.max_length,
                             trained.family)
    return EarlyExitClassifier(net, text, threshold)


def test_threshold_one_equals_the_full_model(trained, splits):
    texts = splits.dev["text"].tolist()
    clf = exit_clf(trained, 1.0, temps=[1.0, 1.0, 1.0])
    assert np.allclose(clf.predict_proba(texts, 16), trained.predict_proba(texts, 16), atol=1e-5)
    assert set(clf.last_depths_) == {3}
    # With a calibrated top exit: the same predictions, the scaled probabilities.
    scaled = exit_clf(trained, 1.0, temps=[1.0, 1.0, 2.0])
    got = scaled.predict_proba(texts, 16)
    ref = trained.predict_proba(texts, 16)
    assert np.array_equal(got.argmax(1), ref.argmax(1))
    logits = np.log(ref)
    want = np.exp(logits / 2) / np.exp(logits / 2).sum(1, keepdims=True)
    assert np.allclose(got, want, atol=1e-5)


def test_examples_that_exit_leave_the_batch(trained, splits):
    texts = splits.dev["text"].tolist()[:32]
    clf = exit_clf(trained)
    first = clf.exit_logits(texts)[0]
    conf = np.exp(first).max(1) / np.exp(first).sum(1)
    clf = clf.with_threshold(float(np.median(conf)))  # about half leave after layer 1
    seen = {1: [], 2: [], 3: []}
    hooks = [layer.register_forward_hook(
        lambda mod, args, out, n=n: seen[n].append(tuple(args[0].shape[:2])))
        for n, layer in enumerate(clf.net.base.bert.encoder.layer, start=1)]
    clf.predict_proba(texts, 32)
    for h in hooks:
        h.remove()
    depths = clf.last_depths_
    assert 0 < int((depths == 1).sum()) < 32
    assert [b for b, _ in seen[1]] == [32]
    assert [b for b, _ in seen[2]] == [int((depths > 1).sum())]
    assert sum(b for b, _ in seen[3]) == int((depths == 3).sum())
    # The remaining batch is trimmed to its own longest sequence.
    lengths = np.array([len(x) for x in clf.text.encode(texts)])
    assert seen[2][0][1] == lengths[depths > 1].max()


def test_everything_exits_at_the_first_layer_when_it_is_sure(trained, splits):
    clf = exit_clf(trained, 0.9)
    head = clf.net.heads[0][3]
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor([6.0, 0.0]))
    calls = []
    hook = clf.net.base.bert.encoder.layer[1].register_forward_hook(lambda *a: calls.append(1))
    proba = clf.predict_proba(splits.dev["text"].tolist(), 32)
    hook.remove()
    assert calls == [] and set(clf.last_depths_) == {1}
    assert np.allclose(proba[:, 0], np.exp(6) / (np.exp(6) + 1), atol=1e-5)


def test_simulation_matches_real_early_exit(trained, splits):
    texts = splits.dev["text"].tolist()
    clf = exit_clf(trained, temps=[1.3, 0.8, 1.1])
    logits = clf.exit_logits(texts)
    for t in (0.5, 0.6, 0.8, 0.95, 1.0):
        real = clf.with_threshold(t)
        proba = real.predict_proba(texts, 8)
        sim, depth = simulate_exits(logits, clf.net.temperatures.tolist(), clf.net.depths, t)
        assert np.array_equal(depth, real.last_depths_)
        assert np.allclose(sim, proba, atol=1e-4)


def test_batch_size_does_not_change_predictions(trained, splits):
    texts = splits.dev["text"].tolist()
    clf = exit_clf(trained, 0.7)
    a = clf.predict_proba(texts, 1)
    depths = clf.last_depths_.copy()
    b = clf.predict_proba(texts, 32)
    assert np.array_equal(depths, clf.last_depths_)
    assert np.allclose(a, b, atol=1e-4)


def test_early_exit_compressor_trains_calibrates_and_picks_on_dev(trained, ctx, tmp_path):
    ee = EarlyExit(FAST, thresholds=(0.6, 0.8, 0.9), tolerance=0.05)
    clf = ee.compress(trained, ctx)
    facts = ee.describe()
    assert [c["exit_layer"] for c in facts["calibration"]] == [1, 2, 3]
    for c in facts["calibration"]:  # scaling on dev never makes dev NLL worse
        assert c["nll_after"] <= c["nll_before"] + 1e-9
    curve = facts["dev_curve"]
    assert [r["threshold"] for r in curve] == [0.6, 0.8, 0.9, 1.0]
    assert curve[-1]["mean_exit_layer"] == 3.0
    assert curve[0]["mean_exit_layer"] <= curve[-1]["mean_exit_layer"]
    assert clf.threshold == facts["threshold"] == pick_threshold(curve, 0.05)
    again = EarlyExitClassifier.load(clf.save(tmp_path / "ee"))
    texts = ctx.splits.dev["text"].tolist()
    assert np.allclose(again.predict_proba(texts), clf.predict_proba(texts), atol=1e-6)
    assert again.flops_per_example(texts) <= trained.flops_per_example(texts) * 1.2


@pytest.mark.parametrize("best_is_last", [True, False])
def test_the_calibration_reuses_the_best_epochs_dev_pass(trained, ctx, monkeypatch, best_is_last):
    """Calibration needs the final weights' dev logits of every exit: the last epoch's
    selection pass when it was the best, a new pass otherwise (the same numbers)."""
    from greennlp.compress import exit_classifier

    passes, real_train = [], exit_classifier.run_training
    real_logits = EarlyExitClassifier.exit_logits

    def counted(self, texts, batch_size=64):
        out = real_logits(self, texts, batch_size)
        passes.append(out)
        return out

    def training(*args, **kwargs):
        facts = real_train(*args, **kwargs)
        return {**facts, "best_epoch": facts["epochs_run"] - (0 if best_is_last else 1)}
    monkeypatch.setattr(EarlyExitClassifier, "exit_logits", counted)
    monkeypatch.setattr(exit_classifier, "run_training", training)
    EarlyExit(FAST, thresholds=(0.8,)).compress(trained, ctx)
    assert len(passes) == FAST.epochs + (0 if best_is_last else 1)


def test_pick_threshold_prefers_fewest_layers_within_tolerance():
    curve = [{"threshold": 0.6, "accuracy": 0.70, "mean_exit_layer": 1.2},
             {"threshold": 0.8, "accuracy": 0.79, "mean_exit_layer": 1.8},
             {"threshold": 1.0, "accuracy": 0.80, "mean_exit_layer": 3.0}]
    assert pick_threshold(curve, 0.01) == 0.8
    assert pick_threshold(curve, 0.0) == 1.0
    assert pick_threshold(curve, 0.2) == 0.6


def test_exit_layers_are_checked(trained):
    with pytest.raises(ValueError):
        copy_with_exits(trained.model, [3])
