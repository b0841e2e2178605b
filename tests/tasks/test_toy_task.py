"""A task registered from outside greennlp runs end to end: one Task value, two family
entries and their module are all it takes. The toy task predicts how many words a text has
(lower mean absolute error is better), so the selection follows the metric's direction."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import greennlp
from greennlp import store, tasks
from greennlp.data import prepare
from greennlp.models import FAMILIES, Family, names, register
from greennlp.record import ModelResult, RunRecord
from greennlp.report import Reports
from greennlp.run import Run
from greennlp.tasks import TASKS, Task, register_task
from greennlp.tasks.common import check_listed, data_stage, report_stage

TASK = "word_count"


class LengthModel:
    """Predicts a text's word count as ``scale`` x its words + ``shift``, fitted or fixed."""

    def __init__(self, family: str, learn: bool) -> None:
        self.family, self.learn, self.scale, self.shift = family, learn, 0.0, 0.0

    def fit(self, texts, counts) -> "LengthModel":
        counts = np.asarray(counts, float)
        if self.learn:
            self.scale = 1.0
        else:
            self.shift = float(counts.mean())  # the mean length: a baseline
        return self

    def predict(self, texts) -> np.ndarray:
        return np.array([self.scale * len(t.split()) + self.shift for t in texts])

    def parameter_counts(self) -> dict[str, int]:
        return {"total": 2, "embedding": 0, "non_embedding": 2}

    def save(self, folder: Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "greennlp_model.json").write_text(json.dumps(
            {"family": self.family, "learn": self.learn, "scale": self.scale,
             "shift": self.shift}))
        return folder

    @classmethod
    def load(cls, folder: Path) -> "LengthModel":
        meta = json.loads((Path(folder) / "greennlp_model.json").read_text())
        model = cls(meta["family"], meta["learn"])
        model.scale, model.shift = meta["scale"], meta["shift"]
        return model


def _counts(frame) -> np.ndarray:
    return np.array([len(t.split()) for t in frame["text"]], float)


def _mae(model, frame) -> dict[str, float]:
    error = np.abs(model.predict(frame["text"].tolist()) - _counts(frame))
    return {"value": float(error.mean()), "low": float(np.quantile(error, 0.025)),
            "high": float(np.quantile(error, 0.975))}


def evaluate(run: Run, result: ModelResult, model) -> tuple[dict, dict]:
    dev = {"mae": _mae(model, run.splits.dev)}
    test = run.test_pass(result.name, lambda frame: {"mae": _mae(model, frame)})
    result.dev, result.test = dev, test
    return dev, test


def stage_data(run: Run) -> None:
    data_stage(run, unit="texts", metric="rows")  # the task's prepare and selection


def stage_models(run: Run) -> None:
    for name in run.cfg.models:
        folder = run.run_dir / "models" / name / "final"

        def work(st, name=name, folder=folder) -> None:
            model = FAMILIES[name].build(None, None, None, run.cfg.seed)
            model.fit(run.splits.train["text"].tolist(), _counts(run.splits.train))
            model.save(folder)
            result = ModelResult(name=name, family=name, checkpoint=str(folder), params_total=2)
            run.task.evaluate(run, result, model)
            run.record.add_model(result)
            st.metrics = {"dev_mae": result.dev["mae"]["value"]}
        run.stage(f"train:{name}", work)


def card(record: RunRecord) -> str:
    best = record.select()
    return f"# Word counter: {best.name}\n\ntest MAE {best.test['mae']['value']:.2f}\n"


def section(record: RunRecord) -> str:
    return "".join(f"<p>{m.name}: dev MAE {m.dev['mae']['value']:.2f}</p>" for m in record.models)


TOY = Task(
    name=TASK, stages=lambda: (stage_data, stage_models, report_stage(reports)),
    reports=lambda: reports(), summary=lambda record: [card(record)],
    prepare=lambda run: prepare(run.cfg.data, run.cfg.seed),
    selection=lambda run: {"metric": "mae", "higher_is_better": FAMILIES["word_count"]
                           .higher_is_better, "reason": "lowest dev mean absolute error"},
    evaluate=evaluate,
    check=lambda cfg: check_listed("models", cfg.models, names(TASK), "word counter"))


def reports() -> Reports:
    return Reports(card=card, datasheet=lambda r: f"# Data\n\n{r.data['stats']['size']} texts\n",
                   section=section)


@pytest.fixture
def toy_task():
    for name, learn in (("word_count", True), ("mean_length", False)):
        register(Family(name, TASK, None, build=lambda *a, name=name, learn=learn:
                        LengthModel(name, learn), load=LengthModel.load, training="once",
                        metric="mae"))
    register_task(TOY)
    yield
    for name in ("word_count", "mean_length"):
        FAMILIES.pop(name)
    TASKS.pop(TASK)


def test_a_registered_task_runs_end_to_end_and_selects_by_its_metric(toy_task, frame, tmp_path):
    runs, csv_path = tmp_path / "runs", tmp_path / "lengths.csv"
    frame["text"] = [t + " more" * (i % 7) for i, t in enumerate(frame["text"])]  # 8 to 14 words
    frame.to_csv(csv_path, index=False)
    cfg = tasks.load_config(None, [f"task={TASK}", f"data.source={csv_path}",
                                   "models=[mean_length,word_count]", f"output_dir={runs}"])
    record = tasks.execute(tasks.start(cfg, log=lambda m: None))
    assert record.status == "completed"
    assert record.model("word_count").dev["mae"]["value"] == 0.0  # exact, and lower is better
    assert record.model("mean_length").dev["mae"]["value"] > 1.0
    assert record.select().name == "word_count"
    assert store.list_runs(runs)[0]["best_model"] == "word_count"
    assert isinstance(greennlp.load_model(record.run_id, output_dir=str(runs)), LengthModel)
    folder = Path(record.run_dir)
    assert "selected on dev: <b>word_count</b>" in (folder / "report.html").read_text()
    assert "mean_length: dev MAE" in (folder / "report.html").read_text()
    assert (folder / "MODEL_CARD.md").read_text().startswith("# Word counter: word_count")
    assert record.tested == ["mean_length", "word_count"]  # test once per model


def test_an_unknown_model_of_the_task_is_one_sentence(toy_task):
    with pytest.raises(greennlp.errors.UserError, match="Unknown word counter 'tfidf_logreg'"):
        tasks.load_config(None, [f"task={TASK}", "models=[tfidf_logreg]"])
