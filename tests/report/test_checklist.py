from greennlp.record import ModelResult, RunRecord, StageResult
from greennlp.report import checklist, classification_reports


def _record(tmp_path):
    rec = RunRecord(run_id="r", run_dir=str(tmp_path), command="greennlp run",
                    config={"tfidf": {"C": 4.0}, "evaluate": {"confidence": 0.95, "bootstrap_samples": 100}},
                    hardware={"model": "CPU", "usable_cpus": 2, "logical_cpus": 2, "memory_gib": 8, "gpus": []},
                    software={"greennlp": "0.1.0", "torch": "2.13.0"},
                    data={"source": "x", "split": {"method": "group", "seed": 0,
                                                   "sizes": {"train": 8, "dev": 1, "test": 1}}},
                    footprint={"pue": 1.0, "carbon_intensity_g_per_kwh": 475,
                               "carbon_intensity_source": "world"})
    acc = {"value": 0.8, "low": 0.7, "high": 0.9}
    rec.add_model(ModelResult("tfidf_logreg", "tfidf_logreg", dev={"accuracy": acc},
                              test={"accuracy": acc, "macro_f1": acc}, labels=["a", "b"]))
    rec.add_stage(StageResult("train:tfidf_logreg", duration_s=2.0, energy_kwh=1e-6, co2_kg=5e-7,
                              cost_usd=1e-4, energy_method="cpu: estimate:tdp"))
    return rec


def test_every_checklist_item_has_an_answer(tmp_path):
    items = checklist.fill(_record(tmp_path))
    assert len(items) == 10
    for entry in items:
        assert entry["answer"].strip() and entry["answer"] != "-", entry["item"]
    unsupported = [e["item"] for e in items if e["status"] != "filled"]
    assert unsupported == ["Bounds for each hyperparameter",
                           "Expected validation performance, or another measure of the mean and "
                           "variance as a function of the number of hyperparameter trials"]
    text = checklist.render(_record(tmp_path))
    assert "- [x] **A clear description of the computing infrastructure used.**" in text


def test_model_card_and_datasheet_render_from_a_minimal_record(tmp_path):
    rec = _record(tmp_path)
    card = classification_reports().card(rec)
    assert card.startswith("---\n") and "co2_eq_emissions" in card and "0.800 [0.700, 0.900]" in card
    sheet = classification_reports().datasheet(rec)
    assert sheet.startswith("# Datasheet") and "## Composition" in sheet


def test_expected_validation_shows_trained_models_but_not_compressed_variants(tmp_path):
    from greennlp.report.search_views import evp_inputs

    rec = _record(tmp_path)
    acc = {"value": 0.79, "low": 0.7, "high": 0.9}
    rec.add_model(ModelResult("tfidf_logreg+int8", "tfidf_logreg", dev={"accuracy": acc},
                              variant_of="tfidf_logreg"))
    curves, points, _ = evp_inputs(rec)
    assert curves == {} and list(points) == ["tfidf_logreg"]
    assert points["tfidf_logreg"]["score"] == 0.8 and points["tfidf_logreg"]["duration_s"] == 2.0
