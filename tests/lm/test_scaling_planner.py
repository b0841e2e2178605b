import json

import numpy as np
import pytest
from typer.testing import CliRunner

from greennlp.cli import app
from greennlp.errors import UserError
from greennlp.measure import planner
from greennlp.measure.scaling import (compute_frontier, compute_optimality, fit_power_law,
                                      summarise_sweep)


def test_power_law_fit_recovers_the_exponent():
    n = np.geomspace(1e4, 1e7, 6)
    loss = (8.8e13 / n) ** 0.076 * np.exp(np.random.default_rng(0).normal(0, 1e-3, 6))
    fit = fit_power_law(n, loss)
    assert fit["exponent"] == pytest.approx(0.076, abs=0.003)
    assert fit["r2"] > 0.99
    with pytest.raises(ValueError):
        fit_power_law([5, 5], [1, 2])


def test_chinchilla_rule():
    assert "about compute-optimal" in compute_optimality(70e9, 1.4e12)["verdict"]  # Chinchilla
    gpt3 = compute_optimality(175e9, 300e9)  # 1.7 tokens per parameter
    assert gpt3["tokens_per_param"] == pytest.approx(300 / 175)
    assert gpt3["verdict"].startswith("not compute-optimal") and "too large" in gpt3["verdict"]
    # the optimum spends the same compute: 6 N D = 6 N_opt (20 N_opt)
    assert 6 * gpt3["optimal_params"] * gpt3["optimal_tokens"] == pytest.approx(6 * 175e9 * 300e9)
    assert "far above" in compute_optimality(1e6, 1e9)["verdict"]


def test_sweep_summary_and_frontier():
    runs = [{"width": w, "params_total": 10 * n, "params_non_embedding": n, "tokens_trained": 1e5,
             "final_loss": (1e9 / n) ** 0.1,
             "curve": [{"compute_flops": 6 * n * t, "loss": (1e9 / n) ** 0.1 + 1e4 / t}
                       for t in (1e3, 1e4, 1e5)]}
            for w, n in ((8, 1e3), (16, 4e3), (32, 1.6e4))]
    out = summarise_sweep(runs)
    assert out["loss_vs_params"]["exponent"] == pytest.approx(0.1)
    front = out["frontier"]
    assert [p["compute_flops"] for p in front] == sorted(p["compute_flops"] for p in front)
    assert all(b["loss"] < a["loss"] for a, b in zip(front, front[1:]))
    assert out["best_width"] == 32 and len(out["optimality"]) == 3
    assert compute_frontier([{"compute_flops": 1, "loss": 2}, {"compute_flops": 2, "loss": 3}]) == \
        [{"compute_flops": 1, "loss": 2}]


def test_gpt3_training_compute_and_gpu_years():
    # Brown et al. (2020): 175B parameters, 300B tokens, ~3.1e23 FLOPs; at 28 TFLOP/s per
    # V100 that is ~355 GPU-years (Lambda's estimate).
    flops, _ = planner.training_flops(params=175e9, tokens=300e9)
    assert flops == pytest.approx(3.15e23)
    out = planner.estimate(flops=flops, accelerator_name="v100", achieved_tflops=28)
    assert out["accelerator_hours"] / planner.HOURS_PER_YEAR == pytest.approx(355, rel=0.01)


def test_patterson_gpt3_energy_and_emissions():
    # Patterson et al. (2021), Table 4: 10,000 V100s, 14.8 days, 330 W, PUE 1.10,
    # 0.429 kgCO2e/kWh -> 1,287 MWh and 552 tCO2e.
    out = planner.estimate(accelerator_name="v100", count=10_000, days=14.8, watts=330, pue=1.10,
                           intensity_g_per_kwh=429)
    assert out["energy_kwh"] / 1000 == pytest.approx(1287, rel=0.005)
    assert out["co2_t"] == pytest.approx(552, rel=0.005)
    assert out["days"] == pytest.approx(14.8)


def test_estimate_from_configs(tmp_path):
    yaml_cfg = tmp_path / "run.yaml"
    yaml_cfg.write_text("lm:\n  vocab_size: 1000\n  gpt:\n    d_model: 64\n    num_layers: 2\n")
    gpt = planner.model_from_config(str(yaml_cfg), "gpt")
    assert gpt["training_flops_per_token"] == 3 * gpt["forward_flops_per_token"]
    assert gpt["params_total"] > 64 * 1000
    hf = tmp_path / "config.json"
    hf.write_text(json.dumps({"model_type": "llama", "vocab_size": 49152, "hidden_size": 576,
                              "intermediate_size": 1536, "num_hidden_layers": 30,
                              "num_attention_heads": 9, "num_key_value_heads": 3}))
    assert planner.model_from_config(str(hf))["params_total"] == 134_515_008
    with pytest.raises(UserError, match="Unknown accelerator"):
        planner.estimate(flops=1e18, accelerator_name="tpu-v9")
    with pytest.raises(UserError, match="token count"):
        planner.training_flops(params=1e6)


def test_estimate_command():
    runner = CliRunner()
    ok = runner.invoke(app, ["estimate", "--params", "175e9", "--tokens", "300e9",
                             "--accelerator", "v100", "--tflops", "28"])
    assert ok.exit_code == 0, ok.output
    assert "3.150e+23" in ok.output and "accelerator-years" in ok.output
    bad = runner.invoke(app, ["estimate", "--params", "1e9", "--tokens", "1e9",
                              "--accelerator", "abacus"])
    assert bad.exit_code == 2 and "Unknown accelerator 'abacus'" in bad.output
    assert "Traceback" not in bad.output
    listed = runner.invoke(app, ["estimate", "--list"])
    assert listed.exit_code == 0 and "v100" in listed.output and "datasheet" in listed.output
