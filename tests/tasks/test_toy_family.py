"""A family registered from outside greennlp runs a whole (tiny) run: one table entry and
its module are all it takes."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from greennlp import tasks
from greennlp.cli import app
from greennlp.config import rule, section
from greennlp.config.rules import DECLARED
from greennlp.errors import UserError
from greennlp.models import FAMILIES, Family, load_model, register
from greennlp.record import RunRecord
from tests.conftest import TINY_OVERRIDES


@dataclass(frozen=True)
class KeywordsConfig:
    """The toy family's settings, declared with its table entry."""

    min_count: int = rule(1, low=1, doc="words seen fewer times do not vote")


class KeywordVotes:
    """A toy classifier: each word votes for the labels it was seen with (add-one counts)."""

    family = "keywords"

    def __init__(self, seed: int = 0, min_count: int = 1) -> None:
        self.seed, self.min_count = seed, min_count

    def fit(self, texts, labels) -> "KeywordVotes":
        self.labels = sorted(set(labels))
        self.votes_ = {}
        for text, label in zip(texts, labels):
            for word in text.split():
                self.votes_.setdefault(word, Counter())[label] += 1
        self.votes_ = {w: v for w, v in self.votes_.items() if sum(v.values()) >= self.min_count}
        return self

    def predict_proba(self, texts, batch_size: int = 32) -> np.ndarray:
        out = np.ones((len(texts), len(self.labels)))
        for i, text in enumerate(texts):
            for word in text.split():
                votes = self.votes_.get(word, {})
                out[i] += [votes.get(label, 0) for label in self.labels]
        return out / out.sum(1, keepdims=True)

    def parameter_counts(self) -> dict[str, int]:
        total = sum(len(v) for v in self.votes_.values())
        return {"total": total, "embedding": 0, "non_embedding": total}

    def flops_per_example(self, texts) -> float:
        return float(np.mean([len(t.split()) * len(self.labels) for t in texts]))

    def save(self, folder: Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "votes.json").write_text(json.dumps({"labels": self.labels,
                                                      "votes": self.votes_}))
        (folder / "greennlp_model.json").write_text(json.dumps({"family": self.family}))
        return folder

    @classmethod
    def load(cls, folder: Path) -> "KeywordVotes":
        data = json.loads((Path(folder) / "votes.json").read_text())
        model = cls()
        model.labels, model.votes_ = data["labels"], {w: Counter(v) for w, v in
                                                      data["votes"].items()}
        return model


@pytest.fixture
def keywords():
    register(Family("keywords", "classification", "keywords",
                    build=lambda section, texts, labels, seed: KeywordVotes(seed,
                                                                            section.min_count),
                    load=KeywordVotes.load, training="once", seeded=True, deterministic=True,
                    settings=KeywordsConfig))
    yield
    FAMILIES.pop("keywords")
    DECLARED.pop("keywords")


def test_a_registered_family_runs_end_to_end(keywords, csv_path, tmp_path):
    runs = tmp_path / "runs"
    overrides = [f"data.source={csv_path}", "data.group_column=movie", f"output_dir={runs}",
                 *TINY_OVERRIDES, "models=[tfidf_logreg,keywords]", "seeds.count=2",
                 "seeds.models=[keywords]", "keywords.min_count=2"]
    cfg = tasks.load_config(None, overrides)
    assert section(cfg, "keywords") == KeywordsConfig(min_count=2)  # the config grew
    record = tasks.execute(tasks.start(cfg, log=lambda m: None))
    assert record.status == "completed"
    model = record.model("keywords")
    assert model.family == "keywords" and model.params_total > 0 and model.flops_per_example > 0
    assert model.test["accuracy"]["value"] > 0.6  # the toy data is learnable word by word
    assert record.seed_runs["keywords"].note.startswith("training is deterministic")
    assert isinstance(load_model(model.checkpoint), KeywordVotes)
    assert "keywords" in (Path(record.run_dir) / "report.html").read_text()
    checklist = (Path(record.run_dir) / "CHECKLIST.md").read_text()
    assert "keywords: the configured values {'min_count': 2}" in checklist
    assert record.config["keywords"] == {"min_count": 2}  # recorded like any section
    again = CliRunner().invoke(app, ["report", record.run_id, "--output-dir", str(runs)])
    assert again.exit_code == 0, again.output
    tested = RunRecord.load(record.run_dir).tested
    assert [k for k in tested if not k.startswith("audit:")] == ["tfidf_logreg", "keywords",
                                                                 "seed:keywords:s1"]


def test_an_unregistered_family_is_one_sentence(csv_path, tmp_path):
    result = CliRunner().invoke(app, ["config", "models=[keywords]"])
    assert result.exit_code == 2 and "Unknown model name 'keywords'" in result.output


def test_a_declared_section_checks_its_settings(keywords):
    with pytest.raises(UserError, match="'keywords.min_count' is 0; it must be at least 1"):
        tasks.load_config(None, ["keywords.min_count=0"])
    with pytest.raises(UserError, match="Unknown config key 'keywords.typo'"):
        tasks.load_config(None, ["keywords.typo=1"])


def test_every_family_declares_the_settings_its_section_holds():
    from greennlp.config import RunConfig

    cfg = RunConfig()
    for fam in FAMILIES.values():
        if fam.section is not None:
            assert type(section(cfg, fam.section)) is fam.settings, fam.name
