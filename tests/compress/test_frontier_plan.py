"""The frontier plan through `greennlp compress RUN_ID --plan frontier`, on a tiny run: one
search stage, the chosen variants scored on test once, their reports, and the pruned
student exported for transformers.pipeline with greennlp's own predictions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from greennlp import tasks
from greennlp.record import RunRecord
from greennlp.tasks import load_config
from tests.conftest import TINY_OVERRIDES

pytestmark = pytest.mark.integration

FRONTIER = ["compress.reference=transformer",
            "compress.max_drop_points=100", "compress.energy_seconds=0.1",
            "compress.skip_failed=false", "compress.frontier.layers=[1]",
            "compress.frontier.heads=[0.5]", "compress.frontier.ffn=[0.5]",
            "compress.frontier.runtimes=[torch,onnx-int8-dynamic,onnx-int8-static]",
            "compress.frontier.train.epochs=1", "compress.frontier.train.batch_size=16",
            "compress.frontier.importance_examples=64", "compress.frontier.timing_rounds=1",
            "compress.frontier.losses=[hidden,attention]", "compress.frontier.max_test=2"]


@pytest.fixture(scope="module")
def compressed(tmp_path_factory):
    from typer.testing import CliRunner

    from greennlp.cli import app
    from tests.conftest import make_frame

    tmp = tmp_path_factory.mktemp("frontier")
    csv = tmp / "reviews.csv"
    make_frame().to_csv(csv, index=False)
    cfg = load_config(None, [f"data.source={csv}", "data.group_column=movie",
                             f"output_dir={tmp / 'runs'}", *TINY_OVERRIDES,
                             "transformer.num_layers=2"])
    run = tasks.start(cfg, log=lambda m: None)
    tasks.execute(run)
    result = CliRunner().invoke(app, ["compress", run.run_dir.name, "--plan", "frontier",
                                      *FRONTIER, "--output-dir", str(tmp / "runs")])
    assert result.exit_code == 0, result.output
    return RunRecord.load(run.run_dir), run.run_dir


def test_the_search_is_one_stage_and_only_its_choice_is_tested(compressed):
    record, folder = compressed
    search = json.loads((folder / "compress" / "frontier" / "search.json").read_text())
    assert [s["shape"] for s in search["students"]] == ["L1-A1-F16"]
    runtimes = {c["runtime"] for c in search["candidates"]}
    assert runtimes <= {"torch", "onnx-int8-dynamic", "onnx-int8-static"} and "torch" in runtimes
    assert all(c["speedup"] > 0 for c in search["candidates"])
    chosen = [f"transformer+prune-{c['student']}" + ("" if c["runtime"] == "torch"
                                                     else f"+{c['runtime']}")
              for c in search["chosen"]]
    variants = [m.name for m in record.models if m.variant_of]
    assert set(chosen) <= set(variants) and "transformer+prune-L1-A1-F16" in variants
    assert set(variants) <= set(chosen) | {"transformer+prune-L1-A1-F16"}
    assert len(record.tested) == len(set(record.tested))  # each scored on test once
    student = record.model("transformer+prune-L1-A1-F16")
    facts = student.compression.facts
    assert facts["shape"] == {"layers": 1, "heads": 1, "ffn": 16}
    assert facts["losses"] == ["hidden", "attention"] and facts["augmented_texts"]["replace"] > 0
    assert record.stage("compress:frontier").metrics["chosen"]
    card = (folder / "MODEL_CARD.md").read_text()
    assert "Frontier plan:" in card and "Michel et al. importance" in card


def test_the_pruned_student_exports_for_transformers_and_agrees(compressed, tmp_path):
    from transformers import pipeline

    from greennlp.compress.export import export_model
    from greennlp.models import load_model

    record, _ = compressed
    out = export_model(record, "transformer+prune-L1-A1-F16", "hf", tmp_path / "hf")
    texts = ["a moving witty film", "dull and boring", "great"]
    ours = load_model(Path(record.model("transformer+prune-L1-A1-F16").checkpoint))
    proba = ours.predict_proba(texts)
    pipe = pipeline("text-classification", model=str(out), trust_remote_code=True, device="cpu")
    got = np.array([[next(d["score"] for d in row if d["label"] == lab) for lab in ours.labels]
                    for row in pipe(texts, top_k=None)])
    np.testing.assert_allclose(got, proba, atol=1e-5)
    onnx = export_model(record, "transformer+prune-L1-A1-F16", "onnx", tmp_path / "onnx")
    np.testing.assert_allclose(load_model(onnx).predict_proba(texts), proba, atol=1e-4)
