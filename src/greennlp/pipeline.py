"""The end-to-end run: config -> data -> train -> evaluate -> report.

Every stage runs inside :func:`greennlp.measure.track`, appends one StageResult to
the RunRecord, and the record is saved (and the registry updated) after each stage.
A run that crashes is marked failed with its error; ``greennlp run --resume RUN_ID``
skips the stages that finished and continues training from the last checkpoint.
"""

from __future__ import annotations

import random
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from greennlp import store
from greennlp.config import RunConfig, from_dict, to_dict
from greennlp.data import Splits, prepare
from greennlp.errors import UserError
from greennlp.measure import Footprint, track
from greennlp.measure.hardware import describe_hardware, describe_software, usable_cpus
from greennlp.record import ModelResult, RunRecord, new_run_id, utc_now
from greennlp.search.seeds import stage_seeds
from greennlp.search.stages import stage_search

Log = Callable[[str], None]


@dataclass
class Run:
    """A run in progress: its config, record, footprint settings and loaded splits."""

    cfg: RunConfig
    record: RunRecord
    footprint: Footprint
    log: Log = print
    splits: Splits | None = None
    models: dict = field(default_factory=dict)

    @property
    def run_dir(self) -> Path:
        return Path(self.record.run_dir)

    def persist(self, record: RunRecord | None = None) -> None:
        """Save record.json and update the registry row."""
        self.record.save()
        store.upsert(self.cfg.output_dir, self.record)

    def stage(self, name: str):
        """``with run.stage(name) as result:`` - measured, recorded and saved."""
        return track(name, self.record, self.footprint, on_finish=self.persist)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (torch only if it is already imported)."""
    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def start(cfg: RunConfig, command: str = "", log: Log = print) -> Run:
    """Create the run directory and record (status ``running``)."""
    if cfg.task == "lm":
        from greennlp.pipeline_lm import follower_run

        follower = follower_run(cfg)  # a torchrun rank > 0 joins rank 0's run instead
        if follower is not None:
            return follower
    run_id = new_run_id()
    run_dir = Path(cfg.output_dir) / run_id
    record = RunRecord(run_id=run_id, run_dir=str(run_dir), config=to_dict(cfg),
                       command=command or shlex.join(sys.argv), hardware=describe_hardware(),
                       software=describe_software())
    footprint = Footprint.from_config(cfg.measure)
    record.footprint = footprint.describe()
    record.seeds = {"run": cfg.seed, "split": cfg.seed}
    run = Run(cfg, record, footprint, log)
    run.persist()
    return run


def resume(run_id: str, output_dir: str = "runs", log: Log = print) -> Run:
    """Reopen a failed or interrupted run; finished stages are kept."""
    folder = store.find_run_dir(output_dir, run_id)
    if folder is None:
        raise UserError(f"No run '{run_id}' under {output_dir}; see `greennlp runs` for ids.")
    record = RunRecord.load(folder)
    if record.status == "completed":
        raise UserError(f"Run {record.run_id} already completed; start a new one with "
                        f"`greennlp run`.")
    cfg = from_dict(RunConfig, record.config)
    if cfg.task == "lm":
        from greennlp.pipeline_lm import follower_run

        follower = follower_run(cfg, record)
        if follower is not None:
            return follower
    record.status, record.error = "running", None
    record.notes.append(f"resumed at {utc_now()}")
    run = Run(cfg, record, Footprint.from_config(cfg.measure), log)
    run.persist()
    return run


def record_failed_start(output_dir: str, command: str, error: str) -> RunRecord:
    """Record a run that failed before it could start (e.g. a bad config key)."""
    run_id = new_run_id()
    record = RunRecord(run_id=run_id, run_dir=str(Path(output_dir) / run_id), command=command,
                       status="failed", error=error, finished_at=utc_now())
    record.save()
    store.upsert(output_dir, record)
    return record


# -- stages ---------------------------------------------------------------------------
def stage_data(run: Run) -> None:
    """Load, clean and split; the splits are saved so a resumed run reuses them."""
    folder = run.run_dir / "data"
    if run.record.stage("data"):
        run.splits = Splits.load(folder, run.record.data["split"])
        return
    with run.stage("data") as st:
        splits, summary = prepare(run.cfg.data, run.cfg.seed)
        splits.save(folder)
        run.record.data = summary
        st.metrics = {"rows": summary["stats"]["size"], **summary["split"]["sizes"]}
        st.artifacts["splits"] = str(folder)
    run.splits = splits
    sizes = summary["split"]["sizes"]
    run.log(f"data: {summary['stats']['size']} examples, split by {summary['split']['method']} "
            f"into {sizes['train']} / {sizes['dev']} / {sizes['test']}")


FAMILY_SECTION = {"tfidf_logreg": "tfidf", "transformer": "transformer", "minilm": "minilm"}


def family_config(cfg: RunConfig, name: str):
    """The config section of model family ``name``."""
    return getattr(cfg, FAMILY_SECTION[name])


def _fit(run: Run, name: str, folder: Path):
    from greennlp.train.classifiers import fit_family

    if name == "transformer_mlm":
        from greennlp.train.mlm import fit_mlm_encoder

        return fit_mlm_encoder(run.cfg, run.splits, run.cfg.seed, folder)
    desc = f"fine-tune {name}" if name == "minilm" else f"train {name}"
    return fit_family(name, family_config(run.cfg, name), run.splits, run.cfg.seed, folder,
                      desc=desc)


def _load(name: str, folder: Path):
    if name == "tfidf_logreg":
        from greennlp.models.tfidf import TfidfLogReg

        return TfidfLogReg.load(folder)
    from greennlp.models.classifier import EncoderClassifier

    return EncoderClassifier.load(folder)


def _from_search(run: Run, name: str, folder: Path):
    """The final model of a searched family: the best trial's weights, copied."""
    import shutil

    state = run.record.search[name]
    shutil.rmtree(folder / "final", ignore_errors=True)
    shutil.copytree(state["best_checkpoint"], folder / "final")
    trial = state["trials"][state["best_trial"]]
    trial_stage = run.record.any_stage(f"search:{name}:trial{state['best_trial']:03d}")
    info = {"selected_trial": state["best_trial"], "params": trial["params"],
            "seed": trial["seed"], "epochs_run": trial["epochs_done"],
            "best_dev_accuracy": trial["score"], "search_method": state["method"],
            "history": trial_stage.metrics.get("history", []) if trial_stage else []}
    return _load(name, folder / "final"), info, [trial_stage.name] if trial_stage else []


def stage_train(run: Run, name: str) -> None:
    """Train model ``name`` (or take its best search trial, or reload a finished stage)."""
    folder = run.run_dir / "models" / name
    if run.record.stage(f"train:{name}"):
        run.models[name] = _load(name, folder / "final")
        return
    seed_everything(run.cfg.seed)
    searched = run.record.search.get(name, {}).get("status") == "completed"
    with run.stage(f"train:{name}") as st:
        if searched:
            model, info, stages = _from_search(run, name, folder)
        else:
            model, info = _fit(run, name, folder)
            model.save(folder / "final")
            stages = []
        run.record.seeds[f"model:{name}"] = info.get("seed", run.cfg.seed)
        counts = model.parameter_counts()
        result = ModelResult(
            name=name, family=model.family, params_total=counts["total"],
            params_non_embedding=counts["non_embedding"],
            flops_per_example=model.flops_per_example(run.splits.dev["text"].tolist()),
            flops_note="forward, matmul FLOPs (2 per multiply-add), mean over dev examples at "
                       "their real lengths" + ("; TF-IDF feature extraction not counted"
                                               if name == "tfidf_logreg" else ""),
            labels=list(model.labels), training=info, checkpoint=str(folder / "final"),
            stages=stages + [f"train:{name}"])
        run.record.add_model(result)
        st.metrics = {k: v for k, v in info.items() if k not in ("history", "config")}
        st.artifacts["checkpoint"] = str(folder / "final")
    run.models[name] = model


def stage_evaluate(run: Run, name: str) -> None:
    """Speed and size, then dev and test metrics with CIs (test once per final model)."""
    from greennlp.evaluate import score_split
    from greennlp.evaluate.efficiency import folder_size_mb, measure_speed

    model, result, ecfg = run.models[name], run.record.model(name), run.cfg.evaluate
    with run.stage(f"evaluate:{name}") as st:
        speed = measure_speed(model.predict_proba, run.splits.dev["text"].tolist(),
                              latency_examples=ecfg.latency_examples,
                              throughput_batches=ecfg.throughput_batches, repeats=ecfg.repeats)
        speed["size_mb"] = folder_size_mb(Path(result.checkpoint))
        dev = score_split(model, run.splits.dev, ecfg, seed=run.cfg.seed)
        # Test last, so that a crash earlier in the stage does not spend a test evaluation.
        test = score_split(model, run.splits.test, ecfg, seed=run.cfg.seed)
        run.record.test_evaluations += 1
        result.dev, result.test = dev["metrics"], test["metrics"]
        result.confusion_matrix = test["confusion_matrix"]
        result.efficiency = speed
        result.stages.append(f"evaluate:{name}")
        st.metrics = {"dev_accuracy": dev["metrics"]["accuracy"]["value"],
                      "test_accuracy": test["metrics"]["accuracy"]["value"], **speed}
        np.save(run.run_dir / "models" / name / "test_proba.npy", test["proba"])
    acc = test["metrics"]["accuracy"]
    run.log(f"{name}: test accuracy {acc['value']:.3f} [{acc['low']:.3f}, {acc['high']:.3f}], "
            f"{speed['latency_ms_b1']:.2f} ms/example at batch 1, "
            f"{speed['throughput_b32']:.0f} examples/s at batch 32")


def stage_model(run: Run, name: str) -> None:
    """Train and evaluate one model, skipping what a resumed run already finished."""
    if run.record.stage(f"evaluate:{name}"):
        return
    if name == "minilm":
        from greennlp.models.pretrained import INSTALL_HINT, minilm_dir

        if minilm_dir() is None:
            note = f"minilm skipped: the pretrained extra is not installed ({INSTALL_HINT})"
            if note not in run.record.notes:
                run.record.notes.append(note)
            run.log(note)
            return
    stage_train(run, name)
    stage_evaluate(run, name)


def stage_compare(run: Run) -> None:
    """Paired tests (McNemar, paired bootstrap) of the best model against the others."""
    from greennlp.evaluate.compare import within_run

    if len(run.record.models) < 2 or run.record.stage("compare"):
        return
    with run.stage("compare") as st:
        run.record.comparisons = within_run(run.record)
        st.metrics = {"pairs": len(run.record.comparisons)}


def stage_report(run: Run) -> dict[str, str]:
    """Write report.html, MODEL_CARD.md, DATASHEET.md and CHECKLIST.md from the record."""
    from greennlp.report import write_reports

    with run.stage("report") as st:
        paths = write_reports(run.record)
        st.artifacts.update(paths)
    return paths


def execute(run: Run) -> RunRecord:
    """Run every stage; on any failure mark the run failed (and re-raise)."""
    import torch

    torch.set_num_threads(usable_cpus())
    seed_everything(run.cfg.seed)
    try:
        if run.cfg.task == "lm":
            from greennlp.pipeline_lm import execute_lm

            return execute_lm(run)
        stage_data(run)
        stage_search(run)
        for name in run.cfg.models:
            stage_model(run, name)
        if not run.record.models:
            raise UserError("No model could be trained; add tfidf_logreg or transformer to "
                            "'models'.")
        stage_seeds(run)
        from greennlp.compress.stages import stage_compress

        stage_compress(run)  # after the seeds (the PIE audit reuses them), before comparing
        stage_compare(run)
        stage_report(run)
        run.record.status = "completed"
    except BaseException as exc:
        run.record.status = "failed"
        run.record.error = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        raise
    finally:
        run.record.finished_at = utc_now()
        run.persist()
        if run.record.status == "completed":
            from greennlp.report import write_reports

            write_reports(run.record)  # once more, to include the report stage and status
    return run.record
