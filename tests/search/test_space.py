import numpy as np
import pytest

from greennlp.config import TfidfConfig, TransformerConfig
from greennlp.errors import UserError
from greennlp.search import space
from greennlp.config.search import ParamSpec

SPACE = {"lr": ParamSpec(dist="loguniform", low=1e-4, high=1e-2),
         "num_layers": ParamSpec(dist="int", low=1, high=3),
         "dropout": ParamSpec(dist="uniform", low=0.0, high=0.5),
         "hidden_size": ParamSpec(dist="choice", values=(32, 64)),
         "seed": ParamSpec(dist="int", low=0, high=99)}


def test_samples_stay_within_their_declared_bounds_and_are_seeded():
    space.validate("transformer", SPACE, TransformerConfig())
    rng = np.random.default_rng(0)
    points = [space.sample(SPACE, rng) for _ in range(500)]
    lrs = np.array([p["lr"] for p in points])
    assert lrs.min() >= 1e-4 and lrs.max() <= 1e-2
    assert abs(np.median(np.log10(lrs)) + 3) < 0.15  # log-uniform: median at the log midpoint
    assert {p["num_layers"] for p in points} == {1, 2, 3}  # int bounds are inclusive
    assert {p["hidden_size"] for p in points} == {32, 64}
    assert all(0 <= p["dropout"] <= 0.5 for p in points)
    again = [space.sample(SPACE, np.random.default_rng(0)) for _ in range(1)]
    assert again[0] == points[0]


def test_grid_enumerates_every_combination():
    grid = space.grid({"C": ParamSpec(dist="loguniform", low=0.1, high=10, grid_points=3),
                       "ngram_max": ParamSpec(dist="int", low=1, high=2)})
    assert len(grid) == 6
    assert sorted({round(p["C"], 6) for p in grid}) == [0.1, 1.0, 10.0]


def test_apply_sets_train_fields_and_returns_the_seed():
    cfg, seed = space.apply(TransformerConfig(), {"lr": 0.005, "num_layers": 3, "seed": 7})
    assert cfg.train.lr == 0.005 and cfg.num_layers == 3 and seed == 7
    assert space.apply(TfidfConfig(), {"C": 2.0}) == (TfidfConfig(C=2.0), None)


def test_the_fine_tuning_method_is_searchable_like_the_training_loop():
    from greennlp.config.sections import PeftPretrainedConfig

    lora = {"lora_r": ParamSpec(dist="choice", values=(4, 16)),
            "lr": ParamSpec(dist="loguniform", low=1e-4, high=1e-3)}
    space.validate("minilm_peft", lora, PeftPretrainedConfig())
    cfg, _ = space.apply(PeftPretrainedConfig(), {"lora_r": 16, "lr": 2e-4,
                                                  "method": "freeze"})
    assert cfg.finetune.lora_r == 16 and cfg.finetune.method == "freeze"
    assert cfg.train.lr == 2e-4
    with pytest.raises(UserError, match="lora_r"):  # its own rule holds (high 1024)
        space.validate("minilm_peft", {"lora_r": ParamSpec(dist="int", low=1, high=4096)},
                       PeftPretrainedConfig())


@pytest.mark.parametrize("bad, message", [
    ({"learning_rate": ParamSpec(dist="uniform", low=0, high=1)}, "not a parameter of transformer"),
    ({"lr": ParamSpec(dist="uniform", low=0.1, high=0.01)}, "low < high"),
    ({"lr": ParamSpec(dist="loguniform", low=0.0, high=0.01)}, "low must be > 0"),
    ({"hidden_size": ParamSpec(dist="choice")}, "without values"),
    ({"num_layers": ParamSpec(dist="int", low=1.5, high=3)}, "integer bounds"),
    ({"num_layers": ParamSpec(dist="int", low=1, high=99)}, "between 1 and 48"),
    ({"hidden_size": ParamSpec(dist="choice", values=(4, 64))}, "at least 8"),
    ({}, "is empty"),
])
def test_bad_spaces_are_one_sentence_errors(bad, message):
    with pytest.raises(UserError, match=message):
        space.validate("transformer", bad, TransformerConfig())
