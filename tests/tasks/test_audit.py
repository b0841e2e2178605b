"""`greennlp audit` on a CSV and a text corpus; the audit stages inside `greennlp run`."""

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from greennlp import tasks
from greennlp.cli import app
from greennlp.record import RunRecord
from greennlp.tasks import load_config
from tests.conftest import TINY_OVERRIDES, make_frame

runner = CliRunner()
TINY_PROBES = ["audit.dynamics_width=8", "audit.dynamics_epochs=3", "audit.probe_size=10",
               "audit.knn=5", "transformer.vocab_size=200", "transformer.max_length=16"]


def _latest(folder):
    return RunRecord.load(sorted(p for p in folder.iterdir() if p.is_dir())[-1])


def test_audit_of_a_csv_writes_datasheet_and_audit_report_with_dynamics(tmp_path):
    frame = make_frame(200)
    frame.loc[150, "text"] = frame.loc[10, "text"] + " again"  # a near-duplicate
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "runs"
    result = runner.invoke(app, ["audit", str(path), f"output_dir={out}", *TINY_PROBES])
    assert result.exit_code == 0, result.output
    record = _latest(out)
    assert record.status == "completed"
    assert [s.name for s in record.stages] == ["data", "audit", "audit:dynamics"]
    audit = record.data["audit"]
    assert audit["near_duplicate_pairs"] >= 1 and audit["recall"]["recall"] == 1.0
    dyn = audit["dynamics"]
    assert set(dyn["map_d"]["categories"]) == {"typical", "atypical", "random_labels", "corrupted"}
    assert len(dyn["points"]["confidence"]) == record.data["split"]["sizes"]["train"]
    sheet = (record.path.parent / "DATASHEET.md").read_text()
    assert "Near-duplicates and contamination" in sheet and "MAP-D category" in sheet
    assert "Jaccard" in (record.path.parent / "AUDIT.md").read_text()


def test_audit_of_a_text_corpus_reports_shared_spans(tmp_path):
    rng = np.random.default_rng(0)
    lines = [" ".join(f"w{x}" for x in rng.integers(0, 500, 12)) for _ in range(300)]
    path = tmp_path / "c.txt"
    path.write_text("\n".join(lines))
    out = tmp_path / "runs"
    result = runner.invoke(app, ["audit", str(path), f"output_dir={out}",
                                 "data.block_documents=10", "data.documents=lines"])
    assert result.exit_code == 0, result.output
    record = _latest(out)
    assert "substrings" in record.data["audit"]
    assert "Exact shared spans" in (record.path.parent / "DATASHEET.md").read_text()


def test_bad_audit_input_is_one_sentence_and_exit_2(tmp_path):
    path = tmp_path / "d.csv"
    make_frame(60).to_csv(path, index=False)
    dup = tmp_path / "dup.csv"
    pd.DataFrame({"text": ["same"] * 20, "label": ["a"] * 20}).to_csv(dup, index=False)
    out = f"output_dir={tmp_path / 'runs'}"
    for args in ([str(path), "audit.threshold=0", out], [str(path), "audit.threshold=1.2", out],
                 [str(path), "audit.ngram=30", "audit.dynamics=false", out], [str(dup), out]):
        result = runner.invoke(app, ["audit", *args])
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 3


def test_clean_test_scores_reuse_saved_predictions(csv_path, tmp_path, monkeypatch):
    import greennlp.tasks.audit_stages as stages

    real = stages.audit_splits

    def with_leak(splits, cfg, **kw):  # mark two test rows as near-duplicates of train
        out = real(splits, cfg, **kw)
        out["test"]["rows"] = [0, 1]
        return out

    monkeypatch.setattr(stages, "audit_splits", with_leak)
    cfg = load_config(None, [f"data.source={csv_path}", "data.group_column=movie",
                             f"output_dir={tmp_path / 'runs'}", *TINY_OVERRIDES])
    record = tasks.execute(tasks.start(cfg, log=lambda m: None))
    clean = record.data["audit"]["clean_test"]
    n_test = record.data["split"]["sizes"]["test"]
    assert clean["removed"] == 2 and clean["examples"] == n_test - 2
    # no extra pass over test: the two final models, plus the baselines and robustness audits
    assert record.test_evaluations - record.audit_test_evaluations == 2
    test = pd.read_parquet(tmp_path / "runs" / record.run_id / "data" / "test.parquet")
    for m in record.models:
        proba = np.load(tmp_path / "runs" / record.run_id / "models" / m.name / "test_proba.npy")
        pred = np.asarray(m.labels)[proba.argmax(1)]
        want = float(np.mean(pred[2:] == test["label"].to_numpy()[2:]))
        assert abs(clean["models"][m.name]["accuracy"]["value"] - want) < 1e-12
    card = (tmp_path / "runs" / record.run_id / "MODEL_CARD.md").read_text()
    assert "| clean test |" in card and "Clean test: the " in card
    assert "Data audit" in (tmp_path / "runs" / record.run_id / "report.html").read_text()
