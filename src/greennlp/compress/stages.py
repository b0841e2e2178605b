"""The compression stages of a run (also what ``greennlp compress RUN_ID`` runs).

Each variant gets two measured stages: ``compress:<variant>`` (making it: the price of
compression) and ``evaluate:<variant>`` (scoring and timing it like any model). Then
``compress:pie`` runs the audit. Finished stages are skipped and what they made is
reloaded (:meth:`greennlp.run.Run.stage`), so a resumed run continues where it stopped.
Which models the settings name was checked when the configuration was loaded.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import numpy as np

from greennlp.compress.base import Context, Step
from greennlp.compress.curve import early_exit_curve
from greennlp.compress.distill import Distiller
from greennlp.compress.evaluation import evaluate_variant, inference_cost
from greennlp.compress.exit_classifier import EarlyExit
from greennlp.compress.frontier_stage import frontier_steps
from greennlp.compress.onnx_int8 import OnnxRuntimeInt8
from greennlp.compress.population import Reseed, dense_population, run_pie
from greennlp.compress.pruning import MagnitudePruner
from greennlp.compress.quantize import TorchDynamicInt8
from greennlp.evaluate.variants import summarize
from greennlp.config import RunConfig, from_dict
from greennlp.config.compress import STUDENT
from greennlp.config.history import upgrade
from greennlp.config.rules import parse_override, read_source, set_dotted
from greennlp.errors import UserError
from greennlp.evaluate import EVAL_BATCH_SIZE
from greennlp.evaluate.predictions import predict_once
from greennlp.files import atomic_folder
from greennlp.models import load_model, names
from greennlp.models.early_exit import EarlyExitClassifier
from greennlp.record import PieAudit, to_json
from greennlp.run import Run

EDITABLE = ("compress", "evaluate", "measure")  # what `greennlp compress` may change


def reference_name(run: Run) -> str | None:
    """The dense reference: ``compress.reference`` if trained, else the best encoder on dev."""
    ccfg = run.cfg.compress
    if ccfg.reference in run.models and run.record.model(ccfg.reference):
        return ccfg.reference
    compressible = names(compressible=True)
    metric = run.record.selection_metric
    encoders = [m for m in run.record.models if not m.variant_of and m.name in run.models
                and m.family in compressible]
    return max(encoders, key=lambda m: m.dev[metric]["value"]).name if encoders else None


def failed_reference(record, best: dict[str, Any]) -> str:
    """A caveat for the console when the best variant's reference failed its sanity check."""
    ref = record.model(best["reference"])
    return (f" (caveat: {ref.name} failed its sanity check, so this says little)"
            if ref and (ref.sanity or {}).get("test", {}).get("warning") else "")


def failed_sanity(run: Run, name: str | None) -> str | None:
    """Why model ``name`` must not be compressed: its dev sanity check failed (None if fine).

    Judged on dev, so that what is compressed is never chosen by looking at test.
    """
    model = run.record.model(name) if name else None
    if not run.cfg.compress.skip_failed:
        return None
    dev = (model.sanity or {}).get("dev", {}) if model else {}
    return dev.get("warning")


def _skip_failed(run: Run, steps: list[Step]) -> list[Step]:
    """Drop the variants whose source chain starts at a model that failed its sanity check."""
    kept = []
    for step in steps:
        why = failed_sanity(run, _root(step.parent))
        if why:
            run.note(f"compression: {step.name} skipped: its source {_root(step.parent)} failed "
                     f"the sanity check on dev ({why.removeprefix('WARNING: ')}); compressing "
                     f"a model that learned nothing would only measure noise")
            continue
        kept.append(step)
    return kept


def _depth(run: Run, name: str) -> int:
    return run.models[name].model.config.num_hidden_layers


def _distill_steps(run: Run, ref: str, backends: tuple[str, ...]) -> list[Step]:
    d = run.cfg.compress.distill
    if d.layers >= _depth(run, ref) and d.hidden_size in (None, run.models[ref].model.config.hidden_size):
        run.note(f"compression: distillation skipped: a {d.layers}-layer student is not smaller "
                 f"than {ref} ({_depth(run, ref)} layers); lower compress.distill.layers")
        return []
    distiller = lambda: Distiller(d.layers, d.train, d.hidden_size, d.temperature, d.alpha)
    steps = [Step(ref, distiller, distiller().name)]
    if "onnx" in backends:
        steps.append(Step(steps[0].name, OnnxRuntimeInt8, "onnx-int8"))
    return steps


def _early_exit_step(run: Run, student: str | None) -> list[Step]:
    ccfg, e = run.cfg.compress, run.cfg.compress.early_exit
    source = student if e.model == STUDENT else e.model
    if source is None or (source != student and source not in run.models):
        run.note(f"compression: early exit skipped: its model '{e.model}' is not in this run")
        return []
    make = lambda: EarlyExit(e.train, e.exit_layers, e.thresholds, ccfg.max_drop_points / 100.0)
    return [Step(source, make, "early-exit")]


def _prune_steps(run: Run) -> list[Step]:
    p = run.cfg.compress.prune
    if p.model not in run.models:
        run.note(f"compression: pruning skipped: its model '{p.model}' is not in this run")
        return []

    def pruner(s: float, criterion: str = "magnitude"):
        return lambda: MagnitudePruner(s, schedule=p.schedule, scope=p.scope,
                                       criterion=criterion, train_cfg=p.train, every=p.every)
    chosen = [(s, "magnitude") for s in p.sparsities]
    if p.random_baseline and p.sparsities:
        chosen.append((max(p.sparsities), "random"))
    return [Step(p.model, pruner(s, c), pruner(s, c)().name) for s, c in chosen]


def plan(run: Run) -> list[Step]:
    """The variants the config asks for, in an order where parents come first."""
    ccfg, steps, student = run.cfg.compress, [], None
    ref = reference_name(run)
    quant = {"torch": (TorchDynamicInt8, "int8-torch"), "onnx": (OnnxRuntimeInt8, "onnx-int8")}
    backends = ccfg.quantize.backends if "quantize" in ccfg.methods else ()
    if ref is None:
        run.note("compression: quantization and distillation skipped: no neural encoder was "
                 "trained")
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
    if ccfg.plan == "frontier":
        steps += _frontier_steps(run, ref)
    return _skip_failed(run, steps)


def _frontier_steps(run: Run, ref: str | None) -> list[Step]:
    """The searched frontier of ``ref`` (its search is a stage of its own)."""
    why = failed_sanity(run, ref)
    if ref is None or why:
        run.note("compression: the frontier plan skipped: " + (
            "no neural encoder was trained" if ref is None else
            f"{ref} failed the sanity check on dev ({why.removeprefix('WARNING: ')})"))
        return []
    return frontier_steps(run, ref)


def _root(name: str) -> str:
    """The dense model at the start of ``name``'s chain of compressions."""
    return name.split("+", 1)[0]


def _dev_proba(run: Run, name: str) -> np.ndarray:
    """Model ``name``'s dev probabilities, as its evaluation computed them (same batch size:
    :func:`~greennlp.evaluate.predictions.predict_once` reuses them)."""
    return predict_once(run.models[name], run.splits.dev["text"].tolist(), EVAL_BATCH_SIZE)


def _make(run: Run, step: Step, st) -> Any:
    """Compress ``step.parent`` and save the variant; what is evaluated is what was saved."""
    folder = run.run_dir / "models" / step.name / "final"
    ctx = Context(run.splits, run.cfg.seed, run.run_dir / "compress" / "work", run.log)
    compressor = step.make()
    variant = compressor.compress(run.models[step.parent], ctx)
    with atomic_folder(folder) as tmp:  # a kill mid-save leaves no half variant
        variant.save(tmp)
    shutil.rmtree(ctx.work_dir, ignore_errors=True)  # scratch files, often large
    st.metrics = json.loads(json.dumps(to_json(compressor.describe()), default=str))
    st.artifacts["model"] = str(folder)
    return load_model(folder)


def _variant(run: Run, step: Step) -> None:
    """Make (or reload) and evaluate one variant, as two resumable stages."""
    name = step.name
    if step.parent not in run.models:
        run.log(f"{name} skipped: its source model {step.parent} is not available")
        return
    variant = run.stage(f"compress:{name}", lambda st: _make(run, step, st),
                        reload=lambda st: load_model(run.run_dir / "models" / name / "final"))
    run.models[name] = variant
    facts = run.record.stage(f"compress:{name}").metrics
    root = _root(step.parent)

    def evaluate(st) -> None:
        result = evaluate_variant(run, name, variant, step.parent, facts,
                                  _dev_proba(run, step.parent),
                                  root=(root, run.models[root]))
        if isinstance(variant, EarlyExitClassifier):
            result.compression.curve = early_exit_curve(run, name, variant, facts)
        run.record.add_model(result)
        st.metrics = {"dev_accuracy": result.dev["accuracy"]["value"],
                      "test_accuracy": result.test["accuracy"]["value"], **result.efficiency}
        acc = result.test["accuracy"]
        run.log(f"{name}: test accuracy {acc['value']:.3f} [{acc['low']:.3f}, {acc['high']:.3f}],"
                f" {result.efficiency['latency_ms_b1']:.2f} ms/example at batch 1, "
                f"{result.efficiency['throughput_b32']:.0f} examples/s at batch 32")
    run.stage(f"evaluate:{name}", evaluate)


def _reference_costs(run: Run) -> None:
    """Energy and money per 1M examples for the models trained before compression."""
    todo = [m for m in run.record.models if not m.variant_of and m.name in run.models
            and "energy_kwh_per_1m" not in m.efficiency]
    if not todo:
        return

    def measure(st) -> None:
        dev = run.splits.dev["text"].tolist()
        for m in todo:
            m.efficiency.update(inference_cost(run.models[m.name].predict_proba, dev,
                                               run.cfg.measure,
                                               min_seconds=run.cfg.compress.energy_seconds))
            st.metrics[m.name] = m.efficiency.get("energy_kwh_per_1m")
    run.stage("compress:inference-costs", measure)


def _pie(run: Run, reseed: Reseed | None) -> None:
    pcfg = run.cfg.compress.pie
    if pcfg.model not in run.models or run.record.stage("compress:pie"):
        return
    why = failed_sanity(run, pcfg.model)
    if why:
        run.note(f"compression: PIE audit skipped: {pcfg.model} failed the sanity check on dev "
                 f"({why.removeprefix('WARNING: ')})")
        return
    dense = dense_population(run, pcfg, reseed)  # may train replicas: own stages, first

    def audit(st) -> PieAudit:
        result = run_pie(run, pcfg, dense)
        run.record.compression.pie = result
        st.metrics = {"pies": result.count, "fraction": result.fraction, **result.accuracy}
        return result
    result = run.stage("compress:pie", audit)
    acc = result.accuracy
    run.log(f"PIE audit: {result.count} of {result.examples_total} test examples; dense "
            f"accuracy on them {_share(acc['dense_on_pies'])} vs {_share(acc['dense_on_rest'])} "
            f"on the rest")


def _share(value: float | None) -> str:
    """An accuracy, or 'none' for an empty set."""
    return "none" if value is None else f"{value:.3f}"


def stage_compress(run: Run, reseed: Reseed | None = None) -> None:
    """Every compression stage the config asks for (nothing when ``compress.methods`` is
    empty and the plan is the default one); ``reseed`` trains the seed replicas the PIE audit needs and the run lacks (the
    task's recipe hands in the seeds stage's function: the stage packages are peers)."""
    if not run.cfg.compress.methods and run.cfg.compress.plan == "default":
        return
    _reference_costs(run)
    for step in plan(run):
        _variant(run, step)
    if "pie" in run.cfg.compress.methods:
        _pie(run, reseed)
    run.record.compression.reference = reference_name(run)
    run.persist()
    best = summarize(run.record, run.cfg.compress.max_drop_points,
                     run.record.compression.reference).get("best")
    if best:
        run.log(f"best variant within {run.cfg.compress.max_drop_points:g} point(s) of "
                f"{best['reference']} on dev: {best['name']}, test accuracy "
                f"{-best['drop_points']:+.2f} points, {best['throughput_speedup']:.1f}x throughput "
                f"at batch 32, {best['latency_speedup']:.1f}x lower latency at batch 1"
                + failed_reference(run.record, best))


def compress_config(own: dict, source: str | None, overrides: tuple[str, ...],
                    output_dir: str) -> RunConfig:
    """The run's own config with the editable sections of ``source`` and ``overrides``."""
    data = upgrade(own)  # a copy, in today's shape (a record of an earlier greennlp)
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
