"""The stages only classification has: data, training, evaluation, paired comparisons,
and how a classifier is selected and scored (the task's ``selection`` and ``evaluate``).

Search, seeds and compression are their own packages; the recipe that orders them all
is :func:`greennlp.tasks.classification.stages`. Every stage goes through
:meth:`greennlp.run.Run.stage`, so a resumed run skips and reloads what finished.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from greennlp.data import Splits, prepare
from greennlp.data.languages import sampled_train
from greennlp.errors import UserError
from greennlp.evaluate import score_split
from greennlp.evaluate.baselines import (baseline_scores, label_profile,
                                         resolve_selection_metric, sanity)
from greennlp.evaluate.compare import within_run
from greennlp.evaluate.efficiency import folder_size_mb, measure_speed
from greennlp.files import atomic_folder, write_bytes
from greennlp.models import family, load_model
from greennlp.models.accounting import MATMUL_NOTE
from greennlp.record import Comparison, ModelResult, StageResult, Training, build
from greennlp.run import Run, seed_everything
from greennlp.search.stages import family_config
from greennlp.tasks.common import data_stage
from greennlp.train.classifiers import fit_family


def prepare_data(run: Run) -> tuple[Splits, dict[str, Any]]:
    """The task's data (:func:`greennlp.data.prepare`): labelled short texts, carrying the
    columns the test scores are sliced by."""
    keep = tuple(dict.fromkeys(run.cfg.evaluate.slice_columns + run.cfg.evaluate.sensitive_columns))
    return prepare(run.cfg.data, run.cfg.seed, keep=keep)


def stage_data(run: Run) -> None:
    """Load, clean and split; the splits are saved so a resumed run reuses them; the
    selection metric is resolved from the training labels (:func:`selection`)."""
    run.splits = data_stage(run, unit="examples", metric="rows")
    run.splits.info["selection_metric"] = run.record.selection_metric  # epochs and trials too


def selection(run: Run) -> dict[str, Any]:
    """The dev metric that selects classifiers, resolved from the training labels
    (``evaluate.selection_metric``): accuracy, or macro F1 for imbalanced labels."""
    train_labels = run.splits.train["label"].tolist()
    metric, reason = resolve_selection_metric(run.cfg.evaluate.selection_metric, train_labels)
    return {"metric": metric, "higher_is_better": True, "reason": reason,
            "train_labels": label_profile(train_labels)}


def evaluate(run: Run, result: ModelResult, model: Any, full: bool = True
             ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Speed and size, then dev and (once, last) test scores with CIs and the sanity
    check, into ``result``: the one evaluation of dense models, compressed variants and
    seed replicas (``full=False``: scores only, no timing and no sanity check).

    The dev and test probabilities are saved beside the checkpoint folder
    (``<checkpoint>/../{dev,test}_proba.npy``), where paired comparisons, the PIE audit
    and the analysis stages read them.

    Returns
    -------
    (dict, dict)
        :func:`greennlp.evaluate.score_split` of dev and of test.
    """
    ecfg, seed = run.cfg.evaluate, run.cfg.seed
    if full:
        speed = measure_speed(model.predict_proba, run.splits.dev["text"].tolist(),
                              latency_examples=ecfg.latency_examples,
                              throughput_batches=ecfg.throughput_batches, repeats=ecfg.repeats)
        speed["size_mb"] = folder_size_mb(result.checkpoint)
        speed["latency_ms_b32"] = 32e3 / speed["throughput_b32"]  # per batch, same timing
        result.efficiency.update(speed)
    dev = score_split(model, run.splits.dev, ecfg, seed=seed)
    test = run.test_pass(result.name, lambda frame: score_split(model, frame, ecfg, seed=seed))
    for name, split in (("test", test), ("dev", dev)):  # dev: calibration, selective
        buffer = io.BytesIO()
        np.save(buffer, split["proba"])
        write_bytes(Path(result.checkpoint).parent / f"{name}_proba.npy", buffer.getvalue())
    result.dev, result.test = dev["metrics"], test["metrics"]
    result.confusion_matrix = test["confusion_matrix"]
    if full:
        result.sanity = check_sanity(run, result.name, dev, test)
    return dev, test


def check_sanity(run: Run, name: str, dev: dict[str, Any], test: dict[str, Any]
                 ) -> dict[str, Any]:
    """The sanity check of a model on dev and on test (:func:`greennlp.evaluate.baselines.sanity`).

    The majority baseline of a split is the share of the training majority class in it,
    read from the split's confusion counts (no extra pass over test). A failed test check
    is said loudly (console and the record's notes, hence the report); decisions (e.g.
    not compressing a model) use the dev check.
    """
    labels = run.splits.labels
    major = labels.index(label_profile(run.splits.train["label"].tolist())["majority_class"])
    out = {}
    for split, scored in (("dev", dev), ("test", test)):
        cm = np.asarray(scored["confusion_matrix"])
        out[split] = sanity(name, cm, labels, scored["metrics"]["accuracy"],
                            float(cm[major].sum() / max(1, cm.sum())), split=split,
                            collapse_share=run.cfg.evaluate.collapse_share)
    if out["test"]["warning"]:
        run.note(out["test"]["warning"])
    return out


def stage_baselines(run: Run) -> None:
    """Majority-class and stratified-random baselines on test (one audit pass)."""
    ecfg, labels = run.cfg.evaluate, run.splits.labels
    train_labels = run.splits.train["label"].tolist()

    def score(test) -> dict:
        pos = {lab: i for i, lab in enumerate(labels)}
        true = np.array([pos[y] for y in test["label"]])
        return baseline_scores(train_labels, true, labels, n_samples=ecfg.bootstrap_samples,
                               confidence=ecfg.confidence, seed=run.cfg.seed)

    def work(st: StageResult) -> None:
        run.record.baselines = run.test_pass("audit:baselines", score)
        st.metrics = {f"{k}_test_accuracy": v["accuracy"]["value"]
                      for k, v in run.record.baselines.items()}
        run.log("baselines on test: " + ", ".join(
            f"{k} accuracy {v['accuracy']['value']:.3f}, macro F1 {v['macro_f1']['value']:.3f}"
            for k, v in run.record.baselines.items()) + f"; models are selected by dev "
            f"{run.record.selection_metric} ({run.record.selection['reason']})")
    run.stage("baselines", work)


def _from_search(run: Run, name: str, folder) -> tuple[Any, dict[str, Any], list[str]]:
    """The final model of a searched family: the best trial's weights, copied."""
    state = run.record.search[name]
    shutil.rmtree(folder / "final", ignore_errors=True)
    shutil.copytree(state.best_checkpoint, folder / "final")
    trial = state.trials[state.best_trial]
    trial_stage = run.record.any_stage(f"search:{name}:trial{state.best_trial:03d}")
    info = {"selected_trial": state.best_trial, "params": trial.params, "seed": trial.seed,
            "epochs_run": trial.epochs_done, "best_dev_accuracy": trial.score,
            "search_method": state.method,
            "history": trial_stage.metrics.get("history", []) if trial_stage else []}
    return load_model(folder / "final"), info, [trial_stage.name] if trial_stage else []


def stage_train(run: Run, name: str) -> None:
    """Train model ``name`` (or take its best search trial, or reload a finished stage)."""
    folder = run.run_dir / "models" / name

    def train(st: StageResult) -> Any:
        seed_everything(run.cfg.seed)
        if run.record.searched(name):
            model, info, stages = _from_search(run, name, folder)
        else:
            desc = f"{'fine-tune' if family(name).card_training_type == 'fine-tuning' else 'train'} {name}"
            splits = sampled_train(run.splits, run.cfg.data.language_alpha, run.cfg.seed)
            model, info = fit_family(name, family_config(run, name), splits, run.cfg.seed,
                                     folder, desc=desc, mlm=run.cfg.lm.mlm)
            info.setdefault("seed", run.cfg.seed)
            with atomic_folder(folder / "final") as tmp:
                model.save(tmp)
            stages = []
        run.record.seeds[f"model:{name}"] = info["seed"]
        counts = model.parameter_counts()
        run.record.add_model(ModelResult(
            name=name, family=model.family, params_total=counts["total"],
            params_non_embedding=counts["non_embedding"],
            flops_per_example=model.flops_per_example(run.splits.dev["text"].tolist()),
            flops_note=getattr(model, "flops_note", MATMUL_NOTE), labels=list(model.labels),
            training=build(Training, info), checkpoint=str(folder / "final"),
            stages=stages + [f"train:{name}"]))
        st.metrics = {k: v for k, v in info.items() if k not in ("history", "config")}
        st.artifacts["checkpoint"] = str(folder / "final")
        return model
    run.models[name] = run.stage(f"train:{name}", train,
                                 reload=lambda st: load_model(folder / "final"))


def stage_evaluate(run: Run, name: str) -> None:
    """Speed and size, then dev and test metrics with CIs (test once per final model)."""
    model, result = run.models[name], run.record.model(name)

    def work(st: StageResult) -> None:
        run.task.evaluate(run, result, model)
        result.stages.append(f"evaluate:{name}")
        st.metrics = {"dev_accuracy": result.dev["accuracy"]["value"],
                      "test_accuracy": result.test["accuracy"]["value"], **result.efficiency}
        log_scores(run, result)
    run.stage(f"evaluate:{name}", work)


def log_scores(run: Run, result: ModelResult) -> None:
    """One console line: test accuracy with its interval, latency and throughput."""
    acc, speed = result.test["accuracy"], result.efficiency
    run.log(f"{result.name}: test accuracy {acc['value']:.3f} [{acc['low']:.3f}, "
            f"{acc['high']:.3f}], {speed['latency_ms_b1']:.2f} ms/example at batch 1, "
            f"{speed['throughput_b32']:.0f} examples/s at batch 32")


def stage_models(run: Run) -> None:
    """Train and evaluate every model of ``models`` that can run here."""
    for name in run.cfg.models:
        why = family(name).available()
        if why:
            run.note(f"{name} skipped: {why}")
            continue
        stage_train(run, name)
        stage_evaluate(run, name)
    if not run.record.models:
        raise UserError("No model could be trained; add tfidf_logreg or transformer to "
                        "'models'.")


def stage_compare(run: Run) -> None:
    """Paired tests (McNemar, paired bootstrap) of the best model against the others."""
    if len(run.record.models) < 2:
        return

    def compare(st: StageResult) -> None:
        run.record.comparisons = [build(Comparison, c) for c in within_run(run.record)]
        st.metrics = {"pairs": len(run.record.comparisons)}
    run.stage("compare", compare)
