"""The judge of a preference run: a classifier trained in the run, or the selected
classifier of a classification run; its reward is its probability of the target class."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from greennlp.config import section
from greennlp.config.preference import TRAIN_JUDGE
from greennlp.errors import UserError
from greennlp.evaluate.bootstrap import bootstrap_scores
from greennlp.models import family, load_model
from greennlp.record import ModelResult, RunRecord
from greennlp.report.card_facts import published_origin
from greennlp.run import Run, find_record

JUDGE = "judge"  # the record's name of a judge trained in the run


def check_target(target: str, labels: list[str], judge: str) -> None:
    """The reward is the probability of ``target``: the judge must know that class."""
    if target not in labels:
        raise UserError(f"Config key 'preference.target' is {target!r}, a class {judge} does "
                        f"not know; choose one of: {', '.join(labels)}.")


def judge_run(run_id: str, output_dir: str, task: str) -> tuple[RunRecord, ModelResult]:
    """The record of the judge's run and its selected classifier, or one sentence saying why
    ``run_id`` cannot judge (no such run, not a ``task`` run, nothing selected and saved)."""
    try:
        record = find_record(run_id, output_dir)
    except UserError:
        raise UserError(f"Config key 'preference.judge' is {run_id!r}, but no run has that id "
                        f"under {output_dir}; give the id of a {task} run (`greennlp runs` "
                        f"lists them) or preference.judge=train.") from None
    kind = record.config.get("task", task)
    if kind != task:
        raise UserError(f"Config key 'preference.judge' names run {record.run_id}, a {kind} "
                        f"run; the judge is the selected classifier of a {task} run, or "
                        f"preference.judge=train.")
    chosen = record.select()
    if chosen is None or not chosen.checkpoint or not Path(chosen.checkpoint).exists():
        raise UserError(f"Run {record.run_id} has no selected classifier saved on disk; finish "
                        f"it (`greennlp run --resume {record.run_id}`) or choose another run "
                        f"for preference.judge.")
    return record, chosen


def _accuracy(run: Run, model, frame) -> dict[str, float]:
    pos = {lab: i for i, lab in enumerate(model.labels)}
    true = np.array([pos.get(lab, -1) for lab in frame["label"]])
    pred = model.predict_proba(frame["text"].tolist()).argmax(1)
    keep = true >= 0
    e = run.cfg.evaluate
    return bootstrap_scores(true[keep], pred[keep], len(model.labels),
                            n_samples=e.bootstrap_samples, confidence=e.confidence,
                            seed=run.cfg.seed)["accuracy"]


def _train_judge(run: Run, st) -> Any:
    """A classifier of ``preference.judge_family`` trained on the training split; its dev
    accuracy, and its test accuracy (one test pass)."""
    p = run.cfg.preference
    where = run.run_dir / "models" / JUDGE
    from greennlp.train.classifiers import fit_family

    model, info = fit_family(p.judge_family, section(run.cfg, family(p.judge_family).section),
                             run.splits, run.cfg.seed, where, desc=f"train judge {p.judge_family}")
    check_target(p.target, model.labels, f"the judge ({p.judge_family})")
    checkpoint = model.save(where / "final")
    result = ModelResult(name=JUDGE, family=p.judge_family, labels=list(model.labels),
                         checkpoint=str(checkpoint), stages=["judge"],
                         params_total=model.parameter_counts()["total"])
    result.dev = {"accuracy": _accuracy(run, model, run.splits.dev)}
    result.test = run.test_pass(JUDGE, lambda test: {"accuracy": _accuracy(run, model, test)})
    run.record.add_model(result)
    st.metrics = {"source": "trained in this run", "family": p.judge_family, "model": JUDGE,
                  "data_origin": published_origin(run.record), "checkpoint": str(checkpoint),
                  "dev_accuracy": result.dev["accuracy"], "test_accuracy": result.test["accuracy"],
                  "train_size": len(run.splits.train), **{k: v for k, v in info.items()
                                                          if k in ("features", "epochs_run")}}
    return model


def _outside_judge(run: Run, st) -> Any:
    """The selected classifier of another classification run, as it is."""
    from greennlp.models.families import CLASSIFICATION

    record, chosen = judge_run(run.cfg.preference.judge, run.cfg.output_dir, CLASSIFICATION)
    model = load_model(chosen.checkpoint)
    check_target(run.cfg.preference.target, model.labels, f"the judge ({chosen.name})")
    same_data = (record.config.get("data") == run.record.config.get("data")
                 and record.config.get("seed") == run.cfg.seed)
    st.metrics = {"source": f"run {record.run_id}", "run_id": record.run_id,
                  "family": chosen.family,
                  "model": chosen.name, "data_origin": published_origin(record),
                  "checkpoint": chosen.checkpoint, "dev_accuracy": chosen.dev.get("accuracy"),
                  "test_accuracy": chosen.test.get("accuracy"), "same_splits": same_data}
    if not same_data:
        run.note(f"The judge (run {record.run_id}) was trained on data split otherwise than this "
                 f"run's; a held-out prompt may begin a text the judge was trained on.")
    return model


def stage_judge(run: Run) -> None:
    """Train the judge here or take it from a classification run; ``run.models['judge']``."""
    p = run.cfg.preference

    def work(st):
        model = (_train_judge if p.judge == TRAIN_JUDGE else _outside_judge)(run, st)
        st.metrics["labels"] = list(model.labels)
        st.metrics["target"] = p.target
        acc = st.metrics.get("test_accuracy") or {}
        run.log(f"judge: {st.metrics['family']} ({st.metrics['source']}), test accuracy "
                f"{acc.get('value', float('nan')):.3f}; reward = P({p.target})")
        return model

    run.models[JUDGE] = run.stage(JUDGE, work,
                                  reload=lambda st: load_model(st.metrics["checkpoint"]))


def rewards(run: Run, prompts_: Sequence[str], texts: Sequence[str]) -> np.ndarray:
    """The judge's probability of the target class for each prompt + continuation."""
    judge = run.models[JUDGE]
    proba = judge.predict_proba([p + t for p, t in zip(prompts_, texts)])
    return np.asarray(proba)[:, judge.labels.index(run.cfg.preference.target)]
