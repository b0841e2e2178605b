"""MODEL_CARD.md metadata: parsed back by huggingface_hub, claiming only what the record shows."""

from __future__ import annotations

import pytest
from huggingface_hub import ModelCard
from huggingface_hub.repocard import metadata_load

from greennlp.record import ModelResult, RunRecord, StageResult
from greennlp.report import classification_reports

ACC = {"value": 0.8, "low": 0.7, "high": 0.9}


def _record(tmp_path, source="rotten_tomatoes", license_="Apache-2.0 (as distributed in x)",
            family="tfidf_logreg", checkpoint_files=("model.skops",), pretrained=""):
    ckpt = tmp_path / "models" / family / "final"
    ckpt.mkdir(parents=True)
    for name in checkpoint_files:
        (ckpt / name).write_text("{}")
    rec = RunRecord(run_id="r", run_dir=str(tmp_path), command="greennlp run",
                    config={"data": {"source": source}, "pretrained": {"name_or_path": pretrained},
                            "evaluate": {"confidence": 0.95, "bootstrap_samples": 100},
                            "measure": {"region": "FRA"}},
                    hardware={"model": "CPU", "usable_cpus": 2, "gpus": []},
                    software={"greennlp": "0.2.0"},
                    data={"source": source, "origin": "somewhere", "license": license_,
                          "split": {"method": "group", "seed": 0,
                                    "sizes": {"train": 8, "dev": 1, "test": 1}}},
                    footprint={"pue": 1.0, "carbon_intensity_g_per_kwh": 56,
                               "carbon_intensity_source": "FRA (Ember 2023)"})
    rec.add_model(ModelResult(family, family, dev={"accuracy": ACC}, checkpoint=str(ckpt),
                              test={"accuracy": ACC, "macro_f1": ACC}, labels=["a", "b"]))
    for name, co2 in ((f"train:{family}", 5e-7), (f"search:{family}:trial000", 2e-6),
                      (f"search:{family}:trial001", 3e-6), (f"seed:{family}:s1", 1e-6),
                      ("data", 1e-7)):
        rec.add_stage(StageResult(name, duration_s=2.0, energy_kwh=co2 * 2, co2_kg=co2,
                                  cost_usd=1e-4, energy_method="cpu: estimate:tdp"))
    return rec


def _parsed(tmp_path, rec):
    path = tmp_path / "MODEL_CARD.md"
    path.write_text(classification_reports().card(rec))
    card = ModelCard.load(path)
    assert metadata_load(path) == card.data.to_dict()
    return card.data.to_dict(), card.text


def test_a_builtin_dataset_gets_no_hub_id_and_the_card_parses(tmp_path):
    meta, text = _parsed(tmp_path, _record(tmp_path))
    assert "datasets" not in meta and "model-index" not in meta  # not the Hub's rotten_tomatoes
    assert meta["pipeline_tag"] == "text-classification" and meta["library_name"] == "sklearn"
    assert meta["license"] == "apache-2.0" and "base_model" not in meta
    # final training only in the metadata; the search and seeds in the text
    assert meta["co2_eq_emissions"]["emissions"] == pytest.approx(5e-7 * 1000)
    assert "final training only" in meta["co2_eq_emissions"]["source"]
    assert "Hyperparameter search (2 trial stage(s)): 4 s, 1.00e-05 kWh (estimated), " \
           "5.00e-06 kg CO2e" in text
    assert "Seed replicas (1 stage(s)): 2 s" in text and "Whole run" in text


def test_a_hub_dataset_is_named_by_its_id_with_parsed_results(tmp_path):
    meta, _ = _parsed(tmp_path, _record(tmp_path, source="hf:imdb", license_="other"))
    assert meta["datasets"] == ["imdb"]
    result = meta["model-index"][0]["results"][0]
    assert result["dataset"]["type"] == "imdb" and result["dataset"]["split"] == "test"
    assert {m["type"]: m["value"] for m in result["metrics"]} == {"accuracy": 0.8, "f1": 0.8}
    assert meta["license"] == "other"


def test_a_file_source_leaks_no_path_and_an_unknown_license_is_said(tmp_path):
    meta, text = _parsed(tmp_path, _record(tmp_path, source=str(tmp_path / "secret.csv"),
                                           license_="unknown (user-provided file)"))
    assert "secret" not in str(meta) and "datasets" not in meta
    assert meta["license"] == "unknown" and "license of the data is not known" in text


def test_library_name_only_when_the_checkpoint_opens_there(tmp_path):
    old = _record(tmp_path / "a", family="transformer", checkpoint_files=("model.safetensors",))
    assert "library_name" not in _parsed(tmp_path / "a", old)[0]  # a greennlp 0.1 folder
    new = _record(tmp_path / "b", family="transformer",
                  checkpoint_files=("model.safetensors", "config.json"))
    assert _parsed(tmp_path / "b", new)[0]["library_name"] == "transformers"


def test_a_local_base_model_is_not_named_and_its_license_is_read_from_its_card(tmp_path):
    base = tmp_path / "my-encoder"
    base.mkdir()
    (base / "README.md").write_text("---\nlicense: mit\n---\n# my encoder\n")
    rec = _record(tmp_path, family="pretrained", pretrained=str(base),
                  checkpoint_files=("config.json",), license_="MIT")
    meta, text = _parsed(tmp_path, rec)
    assert "base_model" not in meta and str(base) not in text.split("## License")[1]
    assert meta["license"] == "mit" and "Base model: a local folder" in text
    rec.data["license"] = "Apache-2.0"
    meta, text = _parsed(tmp_path, rec)
    assert meta["license"] == "unknown" and "licenses of the data and the base model differ" in text
