"""Data-parallel training on 2 processes: torchrun and Ray Train run the same config.

Marked integration (they start processes and take ~1 minute together); CI runs them.
With the same seed and the same sharding of batches over 2 workers, both launchers
must train exactly the same model.
"""

import json
import os
import socket
import subprocess
import sys

import pytest

from tests.lm.conftest import TINY_LM

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd, tmp_path):
    env = dict(os.environ, GREENNLP_PROGRESS="0", OMP_WAIT_POLICY="PASSIVE",
               RAY_AUTH_MODE="disabled", GREENNLP_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _record(folder):
    runs = [p for p in folder.glob("*/record.json")]
    assert len(runs) == 1, runs  # only rank 0 made a run
    return json.loads(runs[0].read_text())


def test_torchrun_and_ray_train_the_same_model(corpus_path, tmp_path):
    common = [*TINY_LM, f"data.source={corpus_path}", "lm.models=[ngram,gpt]"]
    _run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
          f"--master_port={_free_port()}", "-m", "greennlp", "run", *common,
          f"output_dir={tmp_path / 'torchrun'}"], tmp_path)
    torchrun = _record(tmp_path / "torchrun")
    assert torchrun["status"] == "completed"
    gpt = next(m for m in torchrun["models"] if m["name"] == "gpt")
    assert gpt["training"]["world_size"] == 2
    assert gpt["training"]["worker_cpu_s"] > 0  # the other rank's CPU time is counted
    train = next(s for s in torchrun["stages"] if s["name"] == "train:gpt")
    assert "incl. worker processes" in train["energy_method"]
    assert len(next(s for s in torchrun["stages"] if s["name"] == "scaling")["metrics"]["runs"]) == 2

    _run([sys.executable, "-m", "greennlp", "run", *common, "lm.executor=ray",
          "lm.scaling.enabled=false", f"output_dir={tmp_path / 'ray'}"], tmp_path)
    ray = _record(tmp_path / "ray")
    assert ray["status"] == "completed"
    ray_gpt = next(m for m in ray["models"] if m["name"] == "gpt")
    assert ray_gpt["training"]["world_size"] == 2
    assert ray_gpt["training"]["tokens_trained"] == gpt["training"]["tokens_trained"]
    assert ray_gpt["test"]["perplexity"]["value"] == pytest.approx(
        gpt["test"]["perplexity"]["value"], rel=1e-4)
