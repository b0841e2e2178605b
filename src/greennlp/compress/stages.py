"""The compression stages of a run, and ``greennlp compress RUN_ID``.

Each variant gets two measured stages: ``compress:<variant>`` (making it: the price of
compression) and ``evaluate:<variant>`` (scoring and timing it like any model). Then
``compress:pie`` runs the audit, and the frontier and the best variant are written
into the record (``record.compression["summary"]``). Finished stages are skipped, so a resumed run continues
where it stopped; variants it needs as sources are reloaded from their folders.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from greennlp.compress.base import Context
from greennlp.errors import UserError


@dataclass
class Step:
    """One variant to make: ``name`` = ``parent`` + ``+`` + the compressor's name."""

    parent: str
    make: Callable[[], Any]  # builds the compressor (settings from the config)
    label: str

    @property
    def name(self) -> str:
        return f"{self.parent}+{self.label}"


def reference_name(run) -> str | None:
    """The dense reference: ``compress.reference`` if trained, else the best encoder on dev."""
    ccfg = run.cfg.compress
    if ccfg.reference in run.models and run.record.model(ccfg.reference):
        return ccfg.reference
    encoders = [m for m in run.record.models if m.family != "tfidf_logreg" and not m.variant_of
                and m.name in run.models]
    return max(encoders, key=lambda m: m.dev["accuracy"]["value"]).name if encoders else None


def _skip(run, why: str) -> None:
    """Say in the log and the record's notes why a configured method did not run."""
    note = f"compression: {why}"
    if note not in run.record.notes:
        run.record.notes.append(note)
    run.log(note)


def _depth(run, name: str) -> int:
    return run.models[name].model.config.num_hidden_layers


def _distill_steps(run, ref: str, backends: tuple[str, ...]) -> list[Step]:
    from greennlp.compress.distill import Distiller
    from greennlp.compress.onnx_int8 import OnnxRuntimeInt8

    d = run.cfg.compress.distill
    if d.layers >= _depth(run, ref) and d.hidden_size in (None, run.models[ref].model.config.hidden_size):
        _skip(run, f"distillation skipped: a {d.layers}-layer student is not smaller than "
                   f"{ref} ({_depth(run, ref)} layers); lower compress.distill.layers")
        return []
    distiller = lambda: Distiller(d.layers, d.train, d.hidden_size, d.temperature, d.alpha)
    steps = [Step(ref, distiller, distiller().name)]
    if "onnx" in backends:
        steps.append(Step(steps[0].name, OnnxRuntimeInt8, "onnx-int8"))
    return steps


def _early_exit_step(run, student: str | None) -> list[Step]:
    from greennlp.compress.exit_classifier import EarlyExit

    ccfg, e = run.cfg.compress, run.cfg.compress.early_exit
    source = student if e.model == "student" else e.model
    if source is None or (source != student and source not in run.models):
        _skip(run, f"early exit skipped: its model '{e.model}' is not in this run")
        return []
    depth = run.cfg.compress.distill.layers if source == student else _depth(run, source)
    if depth < 2 or any(not 1 <= x < depth for x in e.exit_layers):
        raise UserError(f"compress.early_exit.exit_layers must lie between 1 and {depth - 1} "
                        f"for {source} ({depth} layers); change them or compress.early_exit.model.")
    make = lambda: EarlyExit(e.train, e.exit_layers, e.thresholds, ccfg.max_drop_points / 100.0)
    return [Step(source, make, "early-exit")]


def _prune_steps(run) -> list[Step]:
    from greennlp.compress.pruning import MagnitudePruner

    p = run.cfg.compress.prune
    if p.model not in run.models:
        _skip(run, f"pruning skipped: its model '{p.model}' is not in this run")
        return []

    def pruner(s: float, criterion: str = "magnitude"):
        return lambda: MagnitudePruner(s, schedule=p.schedule, scope=p.scope,
                                       criterion=criterion, train_cfg=p.train, every=p.every)
    chosen = [(s, "magnitude") for s in p.sparsities]
    if p.random_baseline and p.sparsities:
        chosen.append((max(p.sparsities), "random"))
    return [Step(p.model, pruner(s, c), pruner(s, c)().name) for s, c in chosen]


def plan(run) -> list[Step]:
    """The variants the config asks for, in an order where parents come first."""
    from greennlp.compress.onnx_int8 import OnnxRuntimeInt8
    from greennlp.compress.quantize import TorchDynamicInt8

    ccfg, steps, student = run.cfg.compress, [], None
    ref = reference_name(run)
    quant = {"torch": (TorchDynamicInt8, "int8-torch"), "onnx": (OnnxRuntimeInt8, "onnx-int8")}
    backends = ccfg.quantize.backends if "quantize" in ccfg.methods else ()
    if ref is None:
        _skip(run, "quantization and distillation skipped: no neural encoder was trained")
    else:
        steps += [Step(ref, cls, label) for cls, label in (quant[b] for b in backends)]
        if "distill" in ccfg.methods:
            distilled = _distill_steps(run, ref, backends)
            student = distilled[0].name if distilled else None
            steps += distilled
    if "early_exit" in ccfg.methods:
        steps += _early_exit_step(run, student)
    if "prune" in ccfg.methods:
        steps += _prune_steps(run)
    return steps


def load_variant(folder: Path):
    """Reopen a saved model or variant of any kind, from the files in its folder."""
    import json

    from greennlp.compress.exit_classifier import EarlyExitClassifier
    from greennlp.compress.onnx_int8 import META_FILE, OnnxClassifier
    from greennlp.compress.quantize import WEIGHTS, TorchInt8Classifier
    from greennlp.models.classifier import CONFIG_NAME, EncoderClassifier

    folder = Path(folder)
    if (folder / "model.joblib").exists():
        from greennlp.models.tfidf import TfidfLogReg

        return TfidfLogReg.load(folder)
    if (folder / META_FILE).exists():
        return OnnxClassifier.load(folder)
    if (folder / WEIGHTS).exists():
        return TorchInt8Classifier.load(folder)
    if "exit_layers" in json.loads((folder / CONFIG_NAME).read_text()):
        return EarlyExitClassifier.load(folder)
    return EncoderClassifier.load(folder)


def _root(name: str) -> str:
    """The dense model at the start of ``name``'s chain of compressions."""
    return name.split("+", 1)[0]


def _dev_proba(run, name: str, cache: dict[str, np.ndarray]) -> np.ndarray:
    if name not in cache:
        cache[name] = run.models[name].predict_proba(run.splits.dev["text"].tolist(), 64)
    return cache[name]


def _variant(run, step: Step, cache: dict[str, np.ndarray]) -> None:
    """Make (or reload) and evaluate one variant, as two resumable stages."""
    from greennlp.compress.curve import early_exit_curve
    from greennlp.compress.evaluation import evaluate_variant
    from greennlp.compress.exit_classifier import EarlyExitClassifier

    name = step.name
    folder = run.run_dir / "models" / name / "final"
    if run.record.stage(f"evaluate:{name}"):
        run.models[name] = load_variant(folder)
        return
    if step.parent not in run.models:
        run.log(f"{name} skipped: its source model {step.parent} is not available")
        return
    compressor = step.make()
    if run.record.stage(f"compress:{name}"):
        variant, facts = load_variant(folder), run.record.stage(f"compress:{name}").metrics
    else:
        with run.stage(f"compress:{name}") as st:
            ctx = Context(run.splits, run.cfg.seed, run.run_dir / "compress" / "work", run.log)
            compressor.compress(run.models[step.parent], ctx).save(folder)
            shutil.rmtree(ctx.work_dir, ignore_errors=True)  # scratch files, often large
            variant = load_variant(folder)  # what is evaluated is what was saved
            facts = _jsonable(compressor.describe())
            st.metrics = facts
            st.artifacts["model"] = str(folder)
    parent_proba = _dev_proba(run, step.parent, cache)
    root = _root(step.parent)
    with run.stage(f"evaluate:{name}") as st:
        result = evaluate_variant(run, name, variant, step.parent, facts, parent_proba,
                                  root=(root, run.models[root]))
        if isinstance(variant, EarlyExitClassifier):
            result.compression["curve"] = early_exit_curve(run, variant, facts)
        run.record.add_model(result)
        st.metrics = {"dev_accuracy": result.dev["accuracy"]["value"],
                      "test_accuracy": result.test["accuracy"]["value"], **result.efficiency}
    run.models[name] = variant
    acc = result.test["accuracy"]
    run.log(f"{name}: test accuracy {acc['value']:.3f} [{acc['low']:.3f}, {acc['high']:.3f}], "
            f"{result.efficiency['latency_ms_b1']:.2f} ms/example at batch 1, "
            f"{result.efficiency['throughput_b32']:.0f} examples/s at batch 32")


def _jsonable(value: Any) -> Any:
    import json

    from greennlp.record import _json_default

    return json.loads(json.dumps(value, default=_json_default))


def _reference_costs(run) -> None:
    """Energy and money per 1M examples for the models trained before compression."""
    from greennlp.compress.evaluation import inference_cost

    todo = [m for m in run.record.models if not m.variant_of and m.name in run.models
            and "energy_kwh_per_1m" not in m.efficiency]
    if not todo or run.record.stage("compress:inference-costs"):
        return
    with run.stage("compress:inference-costs") as st:
        dev = run.splits.dev["text"].tolist()
        for m in todo:
            m.efficiency.update(inference_cost(run.models[m.name].predict_proba, dev, run.cfg.measure,
                                               min_seconds=run.cfg.compress.energy_seconds))
            st.metrics[m.name] = m.efficiency.get("energy_kwh_per_1m")


def _pie(run) -> None:
    from greennlp.compress.curve import count_audit_test_evaluations
    from greennlp.compress.population import run_pie

    pcfg = run.cfg.compress.pie
    if run.record.stage("compress:pie") or pcfg.model not in run.models:
        return
    with run.stage("compress:pie") as st:
        audit = run_pie(run, pcfg)
        count_audit_test_evaluations(run.record, audit["test_evaluations"])
        run.record.compression["pie"] = audit
        st.metrics = {"pies": audit["count"], "fraction": audit["fraction"],
                      **{k: v for k, v in audit["accuracy"].items()}}
    acc = audit["accuracy"]
    run.log(f"PIE audit: {audit['count']} of {audit['examples_total']} test examples; dense "
            f"accuracy on them {acc['dense_on_pies'] or 0:.3f} vs {acc['dense_on_rest']:.3f} "
            f"on the rest")


def stage_compress(run) -> None:
    """Every compression stage the config asks for (nothing when ``compress.methods`` is empty)."""
    from greennlp.compress.summary import summarize

    if not run.cfg.compress.methods:
        return
    _reference_costs(run)
    cache: dict[str, np.ndarray] = {}
    for step in plan(run):
        _variant(run, step, cache)
    if "pie" in run.cfg.compress.methods:
        _pie(run)
    run.record.compression["summary"] = summarize(run.record, run.cfg.compress.max_drop_points,
                                                  reference_name(run))
    run.persist()
    best = run.record.compression["summary"].get("best")
    if best:
        run.log(f"best variant within {run.cfg.compress.max_drop_points:g} point(s) of "
                f"{best['reference']} on dev: {best['name']}, test accuracy "
                f"{-best['drop_points']:+.2f} points, {best['throughput_speedup']:.1f}x throughput "
                f"at batch 32, {best['latency_speedup']:.1f}x lower latency at batch 1")


EDITABLE = ("compress", "evaluate", "measure")


def _compress_config(own: dict, source: str | None, overrides: tuple[str, ...], output_dir: str):
    """The run's own config with the editable sections of ``source`` and ``overrides``."""
    import copy

    from greennlp.config import RunConfig
    from greennlp.config_parse import from_dict, parse_override, read_source, set_dotted

    data = copy.deepcopy(own)
    if source:
        data.update({k: v for k, v in read_source(source).items() if k in EDITABLE})
    for text in overrides:
        key, value = parse_override(text)
        if key.split(".")[0] not in EDITABLE:
            raise UserError(f"Override '{text}' would change how the run was trained; "
                            f"`greennlp compress` accepts only {', '.join(EDITABLE)} keys.")
        set_dotted(data, key, value)
    data["output_dir"] = output_dir
    return from_dict(RunConfig, data)


def compress_run(run_id: str, config: str | None = None, overrides: tuple[str, ...] = (),
                 output_dir: str = "runs", log: Callable[[str], None] = print):
    """Compress the models of an existing run (``greennlp compress RUN_ID``).

    Parameters
    ----------
    run_id
        A run id (or unique prefix) under ``output_dir``.
    config, overrides
        A config file or profile and ``key=value`` overrides; only the ``compress``
        section (and ``evaluate``, ``measure``) may differ from the run's own config.

    Returns
    -------
    RunRecord
        The run's record, with the variants, the audit and a regenerated report.
    """
    from greennlp import pipeline, store
    from greennlp.config import to_dict
    from greennlp.data import Splits
    from greennlp.measure import Footprint
    from greennlp.record import RunRecord

    folder = store.find_run_dir(output_dir, run_id)
    if folder is None:
        raise UserError(f"No run '{run_id}' under {output_dir}; see `greennlp runs` for ids.")
    record = RunRecord.load(folder)
    if not record.stage("data"):
        raise UserError(f"Run {record.run_id} has no finished data stage; resume it with "
                        f"`greennlp run --resume {record.run_id}` first.")
    cfg = _compress_config(record.config, config, overrides, output_dir)
    record.config = to_dict(cfg)
    record.status, record.error = "running", None
    run = pipeline.Run(cfg, record, Footprint.from_config(cfg.measure), log)
    run.splits = Splits.load(Path(folder) / "data", record.data["split"])
    for m in record.models:
        if not m.variant_of and m.checkpoint and Path(m.checkpoint).exists():
            run.models[m.name] = load_variant(Path(m.checkpoint))
    record.notes.append(f"compressed by `greennlp compress` at {pipeline.utc_now()}")
    try:
        stage_compress(run)
        record.status = "completed"
    except BaseException as exc:
        record.status = "failed"
        record.error = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        raise
    finally:
        record.finished_at = pipeline.utc_now()
        run.persist()
        from greennlp.report import write_reports

        write_reports(record)
    return record
