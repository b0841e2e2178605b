"""A run on an imbalanced dataset (13% minority) where one model collapses to the majority
class: the warning, the baselines, the selection metric and the beyond-accuracy sections."""

from __future__ import annotations

import json
import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from greennlp.cli import app
from greennlp.models import FAMILIES, Family, register
from greennlp.record import ModelResult, RunRecord
from tests.conftest import TINY_OVERRIDES

HAM = ["meeting", "lunch", "report", "team", "call", "later", "home", "see", "today", "notes"]
SPAM = ["win", "prize", "free", "cash", "claim", "winner", "urgent", "click"]


def spam_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """13% spam; spam texts carry two spam words; a 'sender' column with 4 values."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        spam = i % 100 < 13
        words = rng.sample(HAM, 5) + (rng.sample(SPAM, 2) if spam else [])
        rng.shuffle(words)
        text = " ".join(words) + ("!" if i % 3 == 0 else "") + (" don't" if i % 5 == 0 else "")
        rows.append({"text": text.capitalize() + f" {i}", "label": "spam" if spam else "ham",
                     "sender": f"s{i % 4}"})
    return pd.DataFrame(rows)


class Prior:
    """A collapsed classifier: the training label frequencies for every input."""

    family = "prior"

    def fit(self, texts, labels) -> Prior:
        self.labels = sorted(set(labels))
        self.p_ = np.array([list(labels).count(lab) for lab in self.labels], float)
        self.p_ /= self.p_.sum()
        return self

    def predict_proba(self, texts, batch_size: int = 32) -> np.ndarray:
        return np.tile(self.p_, (len(texts), 1))

    def parameter_counts(self) -> dict[str, int]:
        return {"total": len(self.labels), "embedding": 0, "non_embedding": len(self.labels)}

    def flops_per_example(self, texts) -> float:
        return 1.0

    def save(self, folder: Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "prior.json").write_text(json.dumps({"labels": self.labels,
                                                      "p": self.p_.tolist()}))
        (folder / "greennlp_model.json").write_text(json.dumps({"family": self.family}))
        return folder

    @classmethod
    def load(cls, folder: Path) -> Prior:
        data = json.loads((Path(folder) / "prior.json").read_text())
        model = cls()
        model.labels, model.p_ = data["labels"], np.array(data["p"])
        return model


@pytest.fixture
def prior_family():
    register(Family("prior", "classification", None,
                    build=lambda section, texts, labels, seed: Prior(), load=Prior.load,
                    training="once", deterministic=True))
    yield
    FAMILIES.pop("prior")


def test_a_collapsed_model_is_flagged_everywhere(prior_family, tmp_path):
    data = tmp_path / "spam.csv"
    spam_frame().to_csv(data, index=False)
    runs = tmp_path / "runs"
    result = CliRunner().invoke(app, ["run", f"data.source={data}", f"output_dir={runs}",
                                      *TINY_OVERRIDES, "models=[tfidf_logreg,prior]",
                                      "evaluate.sensitive_columns=[sender]",
                                      "evaluate.robustness_examples=50"])
    assert result.exit_code == 0, result.output
    record = RunRecord.load(next(runs.glob("*/record.json")))
    # selection suits the labels: macro F1, stated with the reason
    assert record.selection["metric"] == "macro_f1" and "macro F1" in record.selection["reason"]
    assert record.select().name == "tfidf_logreg"
    # the baselines are scored (one audit pass) and the collapsed model ties the majority
    prior = record.model("prior")
    majority = record.baselines["majority"]["accuracy"]["value"]
    assert prior.test["accuracy"]["value"] == pytest.approx(majority)
    warning = prior.sanity["test"]["warning"]
    assert warning.startswith("WARNING: prior predicts 'ham' for 100.0% of test inputs")
    assert prior.sanity["dev"]["collapsed"] and record.model("tfidf_logreg").sanity["test"][
        "warning"] is None
    # ... said loudly: console, report.html, the card's caveats, the record's notes
    assert "WARNING: prior predicts" in " ".join(result.output.split())
    html = (Path(record.run_dir) / "report.html").read_text()
    card = (Path(record.run_dir) / "MODEL_CARD.md").read_text()
    assert 'class="warn">WARNING: prior predicts' in html
    caveats = card[card.index("## Caveats"):]
    assert "**WARNING: prior predicts" in caveats and "baseline: majority" in card
    assert "baseline: stratified" in html and warning in record.notes
    # every model has the beyond-accuracy analysis, in the record and the reports
    for m in record.models:
        a = m.analysis
        assert {"calibration", "selective", "slices", "fairness", "robustness"} <= set(a)
        assert a["robustness"]["examples"] == 50 and "sender" in a["fairness"]
        assert f"audit:robustness:{m.name}" in record.tested
    assert prior.analysis["robustness"]["perturbations"]["typos"]["flip_rate"] == 0.0
    assert prior.analysis["selective"]["aurc"] == pytest.approx(1 - majority, abs=0.05)
    for text in ("Beyond accuracy", "reliability diagram",
                 "risk-coverage curves", "Worst slice", "Robustness to perturbations"):
        assert text in html, text
    factors = card[card.index("## Factors"):card.index("## Metrics")]
    assert "Worst slice" in factors and "Sensitive column sender" in factors
    assert "Calibration (test): ECE" in caveats and "Robustness (seeded" in caveats


def test_compression_skips_a_model_that_failed_its_sanity_check():
    from greennlp.compress.stages import Step, _skip_failed

    record = RunRecord(run_id="r", run_dir="/nonexistent")
    record.add_model(ModelResult(name="minilm", family="minilm",
                                 sanity={"dev": {"warning": "WARNING: minilm predicts 'ham' for "
                                                            "100.0% of dev inputs"}}))
    record.add_model(ModelResult(name="transformer", family="transformer",
                                 sanity={"dev": {"warning": None}}))
    notes: list[str] = []
    run = SimpleNamespace(record=record, note=notes.append,
                          cfg=SimpleNamespace(compress=SimpleNamespace(skip_failed=True)))
    steps = [Step("minilm", object, "int8-torch"), Step("minilm+distill-3", object, "onnx-int8"),
             Step("transformer", object, "prune-50")]
    kept = _skip_failed(run, steps)
    assert [s.name for s in kept] == ["transformer+prune-50"]
    assert len(notes) == 2 and "failed the sanity check on dev" in notes[0]
    assert "minilm predicts 'ham'" in notes[0]
