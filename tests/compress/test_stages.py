"""Compression inside a run and through `greennlp compress`, on a tiny file."""

import itertools
import json
from pathlib import Path

import pytest

from greennlp import tasks
from greennlp.tasks import load_config
from greennlp.evaluate.variants import summarize
from greennlp.record import RunRecord
from tests.conftest import TINY_OVERRIDES

# Whole runs with every compressor (each compressor has its own fast tests in this folder).
pytestmark = pytest.mark.integration

COMPRESS = [
    "compress.methods=[quantize,distill,early_exit,prune,pie]", "transformer.num_layers=2", "compress.reference=transformer", "compress.distill.layers=1",
    "compress.distill.train.epochs=1", "compress.early_exit.model=transformer",
    "compress.early_exit.thresholds=[0.6,0.9]", "compress.early_exit.train.epochs=1",
    "compress.prune.sparsities=[0.5]", "compress.pie.seeds=2", "compress.pie.sparsity=0.5",
    "compress.max_drop_points=100", "compress.energy_seconds=0.1",
    "compress.skip_failed=false",  # the tiny transformer may not beat the majority class
]


def _cfg(csv_path, tmp_path, *extra):
    return load_config(None, [f"data.source={csv_path}", "data.group_column=movie",
                              f"output_dir={tmp_path / 'runs'}", *TINY_OVERRIDES, *COMPRESS, *extra])


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    from tests.conftest import make_frame

    tmp = tmp_path_factory.mktemp("run")
    csv = tmp / "reviews.csv"
    make_frame().to_csv(csv, index=False)
    run = tasks.start(_cfg(csv, tmp), log=lambda m: None)
    return tasks.execute(run), run.run_dir


def test_every_variant_is_a_final_model_with_costs(finished):
    record, _ = finished
    assert record.status == "completed"
    names = [m.name for m in record.models]
    assert names == ["tfidf_logreg", "transformer", "transformer+int8-torch",
                     "transformer+onnx-int8", "transformer+distill-L1",
                     "transformer+distill-L1+onnx-int8", "transformer+early-exit",
                     "transformer+prune-50", "transformer+random-prune-50"]
    from greennlp.report.analysis_views import variant_deltas

    deltas = variant_deltas(record)  # beyond accuracy, each variant against its dense source
    assert set(deltas) == set(names[2:])
    assert all(d["reference"] == "transformer" and d["ece"] is not None
               and d["flip_rate"] is not None for d in deltas.values())
    html = (Path(record.run_dir) / "report.html").read_text()
    assert "worst-slice change (points)" in html and "flip-rate change" in html
    for m in record.models:
        for key in ("latency_ms_b1", "throughput_b32", "size_mb", "energy_kwh_per_1m",
                    "cost_usd_per_1m", "co2_kg_per_1m"):
            assert m.efficiency.get(key), (m.name, key)
        assert "estimate" in m.efficiency["energy_method"]
        if m.variant_of:
            assert m.test["accuracy"]["low"] <= m.test["accuracy"]["value"] <= m.test["accuracy"]["high"]
            assert 0.0 <= m.compression.fidelity_dev.agreement <= 1.0
            assert record.stage(f"compress:{m.name}") and record.stage(f"evaluate:{m.name}")
    pruned = record.model("transformer+prune-50").compression
    assert pruned.get("sparsity") == pytest.approx(0.5, abs=1e-3)
    curves = [m for m in record.models if m.compression and m.compression.curve]
    assert len(curves) == 1 and curves[0].compression.curve[-1].threshold == 1.0
    pie = record.compression.pie
    # Test once per final model and seed replica (the audit trained seed 1 as one), once
    # for the early-exit curve, once per pruned audit member.
    assert record.seed_runs["transformer"].seeds == [0, 1]
    # ... and the baselines and one robustness pass per model and variant
    assert record.test_evaluations == len(record.models) + 1 + record.audit_test_evaluations
    assert record.audit_test_evaluations == 1 + pie.test_evaluations + 1 + len(record.models)
    assert pie.dense_sources[0] == "this run's model"
    assert pie.dense_sources[1] == "seed replica (seed:transformer:s1)"
    # Seed 0's pruned member is the run's own transformer+prune-50 (same recipe): reused.
    assert pie.compressed_sources[0] == "the run's variant transformer+prune-50"
    assert pie.test_evaluations == 1
    assert record.select().variant_of is None  # variants are weighed, not selected
    assert record.comparisons and record.stages[-1].name == "report"
    assert record.compression.reference == "transformer"
    summary = summarize(record, 100, record.compression.reference)
    assert set(summary["pareto"]) == {"latency_ms_b1", "size_mb", "energy_kwh_per_1m"}
    assert summary["best"]["reference"] == "transformer"


def test_reports_show_frontier_pies_and_curve(finished):
    _, folder = finished
    html = (folder / "report.html").read_text()
    for text in ("<h2>Compression</h2>", "Pareto frontier", "pruning-identified exemplars",
                 "Early exit: transformer+early-exit", "energy / 1M"):
        assert text in html
    assert html.count("data:image/png;base64,") >= 6
    card = (folder / "MODEL_CARD.md").read_text()
    assert "## Compression" in card and "PIE audit" in card


def test_greennlp_compress_adds_variants_to_an_existing_run(finished, tmp_path):
    import shutil

    from typer.testing import CliRunner

    from greennlp.cli import app

    _, folder = finished
    runs = tmp_path / "runs"
    shutil.copytree(folder, runs / folder.name)
    result = CliRunner().invoke(app, ["compress", folder.name, "compress.methods=[prune]",
                                      "compress.prune.sparsities=[0.7]",
                                      "compress.prune.random_baseline=false",
                                      "--output-dir", str(runs)])
    assert result.exit_code == 0, result.output
    record = RunRecord.load(runs / folder.name)
    assert record.model("transformer+prune-70") and record.status == "completed"
    assert record.model("transformer+prune-50")  # earlier variants are kept
    bad = CliRunner().invoke(app, ["compress", folder.name, "models=[tfidf_logreg]",
                                   "--output-dir", str(runs)])
    assert bad.exit_code == 2 and "only compress, evaluate, measure" in bad.output


def _power_cut():
    raise RuntimeError("power cut")


def test_resume_after_a_crash_in_compression_skips_finished_stages(csv_path, tmp_path,
                                                                   monkeypatch):
    import greennlp.compress.stages as ev  # where the stage calls it

    cfg = _cfg(csv_path, tmp_path, "compress.methods=[quantize,prune]",
               "compress.quantize.backends=[torch]", "compress.prune.random_baseline=false")
    run = tasks.start(cfg, log=lambda m: None)
    real, calls = ev.evaluate_variant, itertools.count(1)
    monkeypatch.setattr(ev, "evaluate_variant",
                        lambda *a, **k: real(*a, **k) if next(calls) != 2 else _power_cut())
    with pytest.raises(RuntimeError, match="power cut"):
        tasks.execute(run)
    failed = RunRecord.load(run.run_dir)
    assert failed.stage("evaluate:transformer+int8-torch")
    assert failed.stage("compress:transformer+prune-50")
    assert not failed.stage("evaluate:transformer+prune-50")
    before = {s.name: s.started_at for s in failed.stages if s.status == "ok"}
    resumed = tasks.execute(tasks.resume(run.record.run_id, cfg.output_dir, log=lambda m: None))
    assert resumed.status == "completed"
    after = {s.name: s.started_at for s in resumed.stages}
    assert all(after[n] == t for n, t in before.items())
    # the models trained before the crash are reloaded, so the variant left half-done is
    # finished (before the shared run.stage() it was skipped: its source was not loaded)
    assert resumed.model("transformer+prune-50").test and not any("skipped" in n
                                                                   for n in resumed.notes)
    assert resumed.test_evaluations == len(resumed.models) + resumed.audit_test_evaluations
    assert json.loads((run.run_dir / "record.json").read_text())["status"] == "completed"
