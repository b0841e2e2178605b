"""Where training runs (``train.device``): a CUDA GPU when asked (or when one is visible,
with bf16 autocast where it supports it), and the trained model back on the CPU, where
greennlp evaluates, times and compresses it."""

import pytest
import torch

from greennlp.errors import UserError
from greennlp.train.loop import training_device, use_bf16
from tests.train.test_loop import _fit

GPU = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")


def test_auto_is_the_cpu_without_a_gpu_and_cuda_without_one_is_one_sentence(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert training_device("auto").type == "cpu" and training_device("cpu").type == "cpu"
    with pytest.raises(UserError, match="train.device is cuda but no CUDA GPU is visible"):
        training_device("cuda")
    assert not use_bf16("auto", torch.device("cpu"))  # slower than fp32 here without AMX


@GPU
def test_training_on_the_gpu_learns_in_bf16_and_returns_the_model_to_the_cpu(frame, tmp_path):
    assert use_bf16("auto", torch.device("cuda")) == torch.cuda.is_bf16_supported()
    model, info = _fit(frame, tmp_path, device="cuda")
    assert info["best_dev_accuracy"] >= 0.9  # as on the CPU (test_loop)
    assert next(model.model.parameters()).device.type == "cpu"
    cpu_model, _ = _fit(frame, tmp_path / "cpu", device="cpu")
    assert abs(cpu_model.predict_proba(["a great film"], 1)[0, 1] -
               model.predict_proba(["a great film"], 1)[0, 1]) < 0.5  # both learned the cue


@GPU
def test_a_run_records_the_gpu_and_nvml_energy(csv_path, tmp_path):
    from greennlp import tasks
    from tests.conftest import TINY_OVERRIDES

    cfg = tasks.load_config(None, [f"data.source={csv_path}", "data.group_column=movie",
                                   f"output_dir={tmp_path / 'runs'}", *TINY_OVERRIDES,
                                   "models=[transformer]", "search.enabled=false",
                                   "seeds.count=1", "compress.methods=[]"])
    record = tasks.execute(tasks.start(cfg, log=lambda m: None))
    assert record.status == "completed" and record.hardware.get("gpus")
    train = record.stage("train:transformer")
    assert "gpu" in train.energy_method.lower() and train.energy_kwh > 0
