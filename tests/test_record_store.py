import json
from concurrent.futures import ThreadPoolExecutor

from greennlp import store
from greennlp.record import ModelResult, RunRecord, StageResult


def _record(tmp_path, run_id="r1", acc=0.7):
    rec = RunRecord(run_id=run_id, run_dir=str(tmp_path / run_id),
                    config={"name": "t", "data": {"source": "x.csv"}})
    rec.add_stage(StageResult("data", duration_s=1.0, energy_kwh=0.001, co2_kg=0.0005, cost_usd=0.01))
    rec.add_stage(StageResult("train:m", duration_s=2.0, energy_kwh=0.002, co2_kg=0.001, cost_usd=0.02))
    rec.add_model(ModelResult("m", "tfidf_logreg", dev={"accuracy": {"value": acc, "low": 0, "high": 1}},
                              test={"accuracy": {"value": acc - 0.1, "low": 0, "high": 1}}))
    return rec


def test_record_roundtrip_and_totals(tmp_path):
    rec = _record(tmp_path)
    path = rec.save()
    loaded = RunRecord.load(path.parent)
    assert loaded == rec
    assert loaded.totals()["energy_kwh"] == 0.003
    assert json.loads(path.read_text())["stages"][0]["name"] == "data"


def test_unknown_energy_makes_total_unknown(tmp_path):
    rec = _record(tmp_path)
    rec.add_stage(StageResult("evaluate:m", energy_kwh=None))
    assert rec.totals()["energy_kwh"] is None


def test_failed_stage_is_replaced_by_retry(tmp_path):
    rec = _record(tmp_path)
    rec.add_stage(StageResult("evaluate:m", status="failed", error="boom"))
    assert rec.stage("evaluate:m") is None
    rec.add_stage(StageResult("evaluate:m"))
    assert [s.name for s in rec.stages].count("evaluate:m") == 1 and rec.stage("evaluate:m")


def test_best_model_is_chosen_on_dev(tmp_path):
    rec = _record(tmp_path)
    rec.add_model(ModelResult("n", "transformer", dev={"accuracy": {"value": 0.6, "low": 0, "high": 1}},
                              test={"accuracy": {"value": 0.9, "low": 0, "high": 1}}))
    assert rec.select().name == "m"


def test_selection_follows_the_metric_and_its_direction(tmp_path):
    rec = _record(tmp_path)
    rec.selection = {"metric": "perplexity", "higher_is_better": False}
    for name, ppl in (("a", 40.0), ("b", 12.0), ("c", 90.0)):
        rec.add_model(ModelResult(name, "gpt", dev={"perplexity": {"value": ppl, "low": 0,
                                                                   "high": 1e9}}))
    rec.add_model(ModelResult("b-int8", "gpt", variant_of="b",
                              dev={"perplexity": {"value": 1.0, "low": 0, "high": 2}}))
    assert rec.select().name == "b"  # lowest dev perplexity; a variant is no candidate


def test_a_registry_of_an_earlier_greennlp_gains_the_new_columns(tmp_path):
    import sqlite3

    with sqlite3.connect(tmp_path / store.REGISTRY_NAME) as conn:
        columns = [c for c in store.COLUMNS if c not in dict(store.ADDED_COLUMNS)]
        conn.execute(f"CREATE TABLE runs ({', '.join(columns)})")
    rec = _record(tmp_path)
    rec.save()
    store.upsert(tmp_path, rec)
    (row,) = store.list_runs(tmp_path)
    assert row["best_model"] == "m" and row["selection_metric"] == "accuracy"


def test_registry_lists_runs_and_survives_concurrent_writers(tmp_path):
    records = [_record(tmp_path, f"r{i}", acc=0.5 + i / 100) for i in range(12)]
    for r in records:
        r.save()
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda r: store.upsert(tmp_path, r), records))
    rows = store.list_runs(tmp_path)
    assert len(rows) == 12
    row = next(r for r in rows if r["run_id"] == "r3")
    assert abs(row["best_test_accuracy"] - 0.43) < 1e-9 and row["energy_kwh"] == 0.003
    assert store.find_run_dir(tmp_path, "r3") == tmp_path / "r3"
    assert store.find_run_dir(tmp_path, "r") is None  # ambiguous prefix
    assert RunRecord.load(tmp_path / "r3").run_dir == str(tmp_path / "r3")


def test_registry_can_be_rebuilt_from_records(tmp_path):
    for i in range(3):
        _record(tmp_path, f"r{i}").save()
    assert store.list_runs(tmp_path) == []
    assert store.rebuild(tmp_path) == 3
    assert len(store.list_runs(tmp_path)) == 3
