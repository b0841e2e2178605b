from types import SimpleNamespace

import numpy as np
import pytest
import torch

from greennlp.config import TrainConfig, TransformerConfig
from greennlp.data.split import Splits
from greennlp.models.encoder import build_scratch_encoder
from greennlp.train.classifiers import fit_encoder
from greennlp.train.loop import make_optimizer, warmup_linear

TINY = TransformerConfig(num_layers=1, hidden_size=32, num_heads=2, intermediate_size=64,
                         vocab_size=200, max_length=16, dropout=0.1)


def _splits(frame):
    return Splits(frame.iloc[:160].reset_index(drop=True), frame.iloc[160:200].reset_index(drop=True),
                  frame.iloc[200:].reset_index(drop=True))


def _fit(frame, tmp_path, **train):
    splits = _splits(frame)
    model = build_scratch_encoder(TINY, splits.train["text"], ["neg", "pos"], seed=0)
    cfg = TrainConfig(**{"epochs": 8, "batch_size": 16, "lr": 5e-3, "min_steps": 0, **train})
    return fit_encoder(model, cfg, splits, seed=0, ckpt_dir=tmp_path, desc="t")


def test_training_learns_a_separable_task(frame, tmp_path):
    model, info = _fit(frame, tmp_path)
    assert info["best_dev_accuracy"] >= 0.9
    losses = [h["train_loss"] for h in info["history"]]
    assert losses[-1] < losses[0]
    assert (tmp_path / "last" / "model.safetensors").exists()
    assert (tmp_path / "best" / "model.safetensors").exists()


def test_resume_after_a_crash_gives_the_same_weights(frame, tmp_path, monkeypatch):
    reference, _ = _fit(frame, tmp_path / "ref", epochs=3)

    import greennlp.train.classifiers as clf

    real = clf.dev_accuracy
    calls = {"n": 0}

    def crash_on_second_epoch(model, splits):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("simulated crash")
        return real(model, splits)

    monkeypatch.setattr(clf, "dev_accuracy", crash_on_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        _fit(frame, tmp_path / "crash", epochs=3)
    monkeypatch.setattr(clf, "dev_accuracy", real)
    resumed, info = _fit(frame, tmp_path / "crash", epochs=3)
    assert info["resumed_from_epoch"] == 1 and info["epochs_run"] == 3
    for (k, a), (_, b) in zip(reference.model.state_dict().items(), resumed.model.state_dict().items()):
        assert torch.equal(a, b), k


@pytest.mark.parametrize("pauses,accum", [((0.35, 1.5), 1), ((0.5,), 2)])
def test_pausing_inside_an_epoch_and_resuming_equals_one_run(frame, tmp_path, pauses, accum):
    """Early-stopped seeds score after a fraction of an epoch: the paused run is scored on
    dev there, and resumed, it trains the same batches to the same weights."""
    splits = _splits(frame)
    cfg = TrainConfig(epochs=3, batch_size=16, lr=5e-3, min_steps=0, grad_accum_steps=accum)

    def fit(folder, until=None):
        model = build_scratch_encoder(TINY, splits.train["text"], ["neg", "pos"], seed=0)
        return fit_encoder(model, cfg, splits, seed=0, ckpt_dir=folder, desc="t",
                           until_epoch=until)

    reference, ref_info = fit(tmp_path / "ref")
    for until in pauses:
        _, info = fit(tmp_path / "paused", until)
        assert not info["finished"] and info["paused_dev_accuracy"] is not None
        assert info["steps"] == round(until * 10 / accum)  # 10 batches an epoch
        assert len(info["history"]) == int(until)  # only whole epochs are in the history
    resumed, info = fit(tmp_path / "paused")
    assert info["finished"] and info["steps"] == ref_info["steps"]
    assert info["paused_dev_accuracy"] is None
    assert [h["dev_score"] for h in info["history"]] == \
        [h["dev_score"] for h in ref_info["history"]]
    assert [h["train_loss"] for h in info["history"]] == pytest.approx(
        [h["train_loss"] for h in ref_info["history"]], rel=1e-6)
    same = zip(reference.model.state_dict().items(), resumed.model.state_dict().items())
    for (k, a), (_, b) in same:
        assert torch.equal(a, b), k


def test_early_stopping_and_max_steps(frame, tmp_path):
    _, info = _fit(frame, tmp_path / "a", epochs=20, patience=1, lr=1e-7)
    assert info["stopped_early"] and info["epochs_run"] < 20
    _, info = _fit(frame, tmp_path / "b", epochs=5, max_steps=3)
    assert info["steps"] == 3


def test_gradient_accumulation_counts_optimizer_steps(frame, tmp_path):
    _, info = _fit(frame, tmp_path, epochs=1, grad_accum_steps=2)
    assert info["steps"] == 5  # 160 examples / 16 = 10 batches -> 5 steps


def test_warmup_then_linear_decay():
    f = warmup_linear(100, 0.1)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(55) == pytest.approx(0.5) and f(100) == 0.0
    assert np.all(np.diff([f(s) for s in range(10, 100)]) < 0)


def test_optimizer_scales_the_learning_rate_of_prefixed_parameters():
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2))
    net.lr_multipliers = {"1.": 10.0}
    opt = make_optimizer(net, SimpleNamespace(lr=1e-3, weight_decay=0.01))
    by_param = {id(p): g for g in opt.param_groups for p in g["params"]}
    assert by_param[id(net[0].weight)]["lr"] == pytest.approx(1e-3)
    assert by_param[id(net[1].weight)]["lr"] == pytest.approx(1e-2)
    assert by_param[id(net[1].bias)]["weight_decay"] == 0.0  # no decay on biases
    assert by_param[id(net[1].weight)]["weight_decay"] == 0.01
    assert sum(len(g["params"]) for g in opt.param_groups) == 4


def test_a_small_dataset_gets_the_floor_of_steps(frame, tmp_path):
    from greennlp.train.loop import planned_epochs

    # 160 examples in batches of 16: 10 steps an epoch; a floor of 40 steps plans 4 epochs
    _, info = _fit(frame, tmp_path, epochs=1, min_steps=40, max_epochs=10, patience=1)
    assert info["epochs_run"] == 4 and info["steps"] == 40
    cfg = TrainConfig(epochs=1, min_steps=40, max_epochs=3)
    assert planned_epochs(cfg, 10) == 3  # capped by max_epochs
    assert planned_epochs(TrainConfig(epochs=1, min_steps=40, max_steps=5), 10) == 1
    assert planned_epochs(cfg, 10, until_epoch=1) == 1  # a search stretch keeps its budget


def test_class_weighted_loss_is_weighted_cross_entropy():
    import torch

    from greennlp.train.classifiers import class_weights, weighted_loss

    weights = class_weights("auto", ["ham", "spam"], ["ham"] * 87 + ["spam"] * 13)
    assert weights == pytest.approx([100 / (2 * 87), 100 / (2 * 13)])
    assert class_weights("auto", ["a", "b"], ["a", "b"] * 5) is None
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.3], [-1.0, 1.0]])
    labels = torch.tensor([0, 1, 1])
    output = type("Out", (), {"logits": logits})()  # what a model's forward returns
    loss = weighted_loss(weights)(output, {"labels": labels})
    w = torch.tensor(weights)
    each = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    assert loss.item() == pytest.approx(((each * w[labels]).sum() / w[labels].sum()).item())
