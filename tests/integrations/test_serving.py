"""Serving a finished run: ``greennlp predict`` gives the labels the run saved for its test
set; the export opens in transformers 5.x (here) and 4.x (a throwaway virtual environment
with transformers 4.57) with greennlp's probabilities."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from greennlp.cli import app
from greennlp.integrations import serving

runner = CliRunner()
pytestmark = pytest.mark.integration  # a whole run (shared) and, for 4.x, a download


def _saved(record, name):
    """The run's own test texts and the labels its evaluation saved for model ``name``."""
    test = pd.read_parquet(Path(record.run_dir) / "data" / "test.parquet")
    model = record.model(name)
    proba = np.load(Path(model.checkpoint).parent / "test_proba.npy")
    return test, proba, [model.labels[i] for i in proba.argmax(1)]


@pytest.mark.parametrize("name, fmt", [("transformer", "csv"), ("transformer+onnx-int8", "jsonl")])
def test_predict_gives_the_labels_the_run_saved_for_its_test_set(tmp_path, finished_run, name,
                                                                 fmt, monkeypatch):
    runs, record = finished_run
    # progress chunks of one batch: the texts must still get the batches the run's
    # evaluation gave them (the int8 variant's numbers depend on the batch)
    monkeypatch.setattr(serving, "CHUNK", 1)
    test, proba, labels = _saved(record, name)
    test.to_csv(tmp_path / "test.csv", index=False)
    out = tmp_path / f"predictions.{fmt}"
    result = runner.invoke(app, ["predict", f"{record.run_id}:{name}", str(tmp_path / "test.csv"),
                                 "--out", str(out), "--output-dir", str(runs)])
    assert result.exit_code == 0, result.output
    assert "per 1M texts" in result.output and "kWh" in result.output
    if fmt == "csv":
        rows = pd.read_csv(out)
        got, got_proba = rows["label"].tolist(), rows[[f"p_{k}" for k in record.model(name).labels]]
    else:
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        got = [r["label"] for r in rows]
        got_proba = [[r["probabilities"][k] for k in record.model(name).labels] for r in rows]
    agreement = float(np.mean(np.array(got) == np.array(labels)))
    diff = float(np.abs(np.asarray(got_proba, float) - proba).max())
    print(f"\npredict {name} against the run's saved test predictions: label agreement "
          f"{agreement:.4f} on {len(labels)} texts, max |p diff| {diff:.2e}")
    assert agreement == 1.0 and diff < 1e-5


def test_predict_reads_standard_input(finished_run):
    runs, record = finished_run
    result = runner.invoke(app, ["predict", record.run_id, "-", "--format", "jsonl",
                                 "--output-dir", str(runs)], input="a lovely film\n\ndull flat\n")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == 2 and set(rows[0]["probabilities"]) == {"neg", "pos"}


def _transformers_4(root: Path) -> Path:
    """A virtual environment with transformers 4.57 (and the huggingface_hub and tokenizers
    it needs) in front of this environment's packages (torch, numpy, safetensors)."""
    env = root / "tf4"
    venv.EnvBuilder(with_pip=False).create(env)
    site = next((env / "lib").glob("python*/site-packages"))
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
           "transformers==4.57.6", "huggingface_hub==0.36.2", "tokenizers==0.22.1"]
    done = subprocess.run(pip, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.skip(f"transformers 4.x could not be installed here: {done.stderr[-300:]}")
    (site / "zz_greennlp_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env / "bin" / "python"


LOAD = """
import json, sys
import numpy as np
import transformers
from transformers import AutoTokenizer, pipeline
texts = json.load(open(sys.argv[2]))
pipe = pipeline("text-classification", model=sys.argv[1], tokenizer=AutoTokenizer.from_pretrained(sys.argv[1]), device="cpu")
rows = pipe(texts, truncation=True, top_k=None)
labels = json.load(open(sys.argv[1] + "/config.json"))["id2label"]
order = [labels[str(i)] for i in range(len(labels))]
print(json.dumps({"version": transformers.__version__,
                  "proba": [[next(d["score"] for d in r if d["label"] == k) for k in order] for r in rows]}))
"""


def test_the_export_agrees_with_greennlp_on_transformers_4_and_5(tmp_path, finished_run):
    runs, record = finished_run
    result = runner.invoke(app, ["export", record.run_id, "--out", str(tmp_path / "hf"),
                                 "--output-dir", str(runs)])
    assert result.exit_code == 0, result.output
    test, proba, labels = _saved(record, "transformer")
    (tmp_path / "texts.json").write_text(json.dumps(test["text"].tolist()))
    (tmp_path / "load.py").write_text(LOAD)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}
    for python in (sys.executable, _transformers_4(tmp_path)):
        done = subprocess.run([str(python), str(tmp_path / "load.py"), str(tmp_path / "hf"),
                               str(tmp_path / "texts.json")], capture_output=True, text=True,
                              env=env, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        out = json.loads(done.stdout.strip().splitlines()[-1])
        got = np.array(out["proba"])
        same = float(np.mean(got.argmax(1) == proba.argmax(1)))
        diff = float(np.abs(got - proba).max())
        print(f"\ntransformers {out['version']}: label agreement {same:.4f} on {len(labels)} "
              f"test texts, max |p diff| {diff:.2e}")
        assert same == 1.0 and diff < 1e-5


def test_an_exported_variant_has_its_own_card_with_its_batching_measured(tmp_path, finished_run):
    """Exporting a model other than the selected one: the card describes that model (the
    int8 variant, made from its source), and states how batching changes its predictions,
    as measured anew here."""
    from huggingface_hub import ModelCard

    from greennlp.compress.export import batch_dependence
    from greennlp.models import load_model

    runs, record = finished_run
    out = tmp_path / "int8"
    result = runner.invoke(app, ["export", f"{record.run_id}:transformer+onnx-int8", "--format",
                                 "onnx", "--out", str(out), "--output-dir", str(runs)])
    assert result.exit_code == 0, result.output
    card = ModelCard.load(out / "README.md")
    assert card.data.to_dict()["model_name"].endswith("transformer+onnx-int8")
    assert card.data.to_dict()["co2_eq_emissions"]["emissions"] > 0
    assert "compressing it into transformer+onnx-int8" in card.content
    assert "### Batching changes predictions" in card.content
    test, _, _ = _saved(record, "transformer")
    measured = batch_dependence(load_model(out), test["text"].tolist())
    assert measured is not None and measured["dynamic"]
    assert (f"{measured['labels_differ']} of {measured['texts']} labels differ from batches "
            f"of 32") in card.content
