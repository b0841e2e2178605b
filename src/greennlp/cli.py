"""Command-line interface: a thin layer over the library; each command calls one function.

Bad input (a :class:`~greennlp.errors.UserError`) prints one sentence to stderr and
exits with code 2, without a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Callable, Optional

import typer
from rich.console import Console
from rich.table import Table

from greennlp.errors import UserError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="greennlp: train, evaluate, compress and report NLP models, with the "
                       "cost of every step (time, energy, CO2e, money).")
console = Console()
if not console.is_terminal:  # piped or logged: do not squeeze tables into 80 columns
    console = Console(width=160)
err_console = Console(stderr=True)


def user_errors(fn: Callable) -> Callable:
    """Turn UserError, and a full, read-only or unwritable disk, into one red sentence
    and exit code 2 (naming --out when that is where the write failed)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            message = str(exc)
        except Exception as exc:
            from greennlp.files import OUTPUT_DIR_SETTING, storage_problem

            out = kwargs.get("out")
            setting = "--out" if out is not None and _under(exc, out) else OUTPUT_DIR_SETTING
            message = storage_problem(exc, setting)
            if message is None:
                raise
        err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    return wrapper


def _under(exc: BaseException, out: str | Path) -> bool:
    """Whether the write that failed with ``exc`` was at ``out``: the path itself, a file
    inside it, or a folder on the way to it (or no path named at all)."""
    from greennlp.files import failed_path

    failed = failed_path(exc)
    if failed is None:
        return True
    failed_at, target = Path(failed).absolute(), Path(out).absolute()
    return (failed_at == target or failed_at.is_relative_to(target)
            or target.is_relative_to(failed_at))


def _split_args(config: Optional[str], overrides: Optional[list[str]]) -> tuple[Optional[str], list[str]]:
    """The one positional argument without '=' is the config; the rest are overrides."""
    args = ([config] if config else []) + list(overrides or [])
    sources = [a for a in args if "=" not in a]
    if len(sources) > 1:
        raise UserError(f"Give at most one config file or profile, got {', '.join(sources)}; "
                        f"write the other arguments as key=value.")
    return (sources[0] if sources else None), [a for a in args if "=" in a]


def _output_dir(args: list[str]) -> str:
    """Where a run that failed to start is recorded: output_dir as an override (the last
    one, as the config takes it), else as the config file sets it, else ``runs``."""
    for text in reversed(args):
        key, _, value = text.partition("=")
        if key.strip() == "output_dir" and value.strip():
            return value.strip()
    from greennlp.config.rules import read_source

    for source in (a for a in args if "=" not in a):
        try:
            value = read_source(source).get("output_dir")
        except (UserError, AttributeError, OSError):
            continue
        if isinstance(value, str) and value.strip():
            return value.strip()
    return "runs"


def _with_output_dir(overrides: list[str], option: str | None) -> list[str]:
    """``overrides`` with ``--output-dir``'s folder as their last output_dir (it beats the
    config file's); refused when an output_dir override names another folder."""
    if option is None:
        return overrides
    if not option.strip():
        raise UserError("--output-dir is empty; give the folder the run is written to.")
    for text in overrides:
        key, _, value = text.partition("=")
        if key.strip() == "output_dir" and value.strip() != option.strip():
            raise UserError(f"--output-dir {option} and output_dir={value.strip()} name two "
                            f"folders; give the run's folder once.")
    return [*overrides, f"output_dir={option.strip()}"]


def _record_failed_start(args: list[str], command: str, error: str) -> None:
    """Record a run that failed before it started; a folder that cannot be written must
    not hide the user's error behind its own."""
    import sqlite3

    from greennlp import tasks

    if len(command) > 2_000:  # a refused, oversized argument is not kept whole
        command = command[:1_999] + "…"
    try:
        tasks.record_failed_start(_output_dir(args), command, error)
    except (OSError, ValueError, sqlite3.Error):  # ValueError: a NUL in the folder's name
        pass


def _passive_openmp() -> None:
    """Idle OpenMP threads sleep instead of spinning (must be set before torch loads).

    On a CPU shared with other jobs, spinning threads hold cores the working threads
    need: on a busy 2-core VM a training step of the default decoder took 1.9x as long
    with spinning threads (benchmarks/omp_wait_policy.py), and steps of tiny models up
    to ~40x.
    """
    import os

    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@app.command()
@user_errors
def run(config: Optional[str] = typer.Argument(None, help="Config file (.yaml/.toml/.json) or "
                                               "built-in profile (quick). Default: the defaults."),
        overrides: Optional[list[str]] = typer.Argument(None, help="Dotted key=value "
                                                        "overrides, e.g. transformer.train.epochs=2"),
        resume: Optional[str] = typer.Option(None, "--resume", help="Continue a failed or "
                                             "interrupted run by id; finished stages are kept."),
        output_dir: Optional[str] = typer.Option(None, "--output-dir", help="Where runs are "
                                                 "written (the config's output_dir, default "
                                                 "runs); with --resume, the folder that holds "
                                                 "the run.")) -> None:
    """Run the whole lifecycle: data, models, evaluation, report."""
    command = "greennlp " + shlex.join(sys.argv[1:])
    log = functools.partial(console.print, highlight=False)
    with _terminate_as_interrupt():
        try:
            _run(config, overrides, resume, output_dir, command, log)
        except BaseException as exc:  # before the run's stages started: nothing to resume
            if not _interrupted(exc):
                raise
            err_console.print("interrupted before the run started", highlight=False)
            raise typer.Exit(130) from None


def _interrupted(exc: BaseException) -> bool:
    """Ctrl-C or SIGTERM, also when it arrived inside a library that turned it into its own
    error (e.g. the import of a C extension fails with ImportError)."""
    for _ in range(8):
        if exc is None or isinstance(exc, typer.Exit):
            return False
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill PID``, a scheduler's preemption) stops a run as Ctrl-C does: the
    running stage's totals and the failed status are saved, and the way to resume is
    printed (without, the process ended at once, like ``kill -9``)."""
    import signal
    import threading

    def interrupt(signum, frame):
        raise KeyboardInterrupt
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def _run(config, overrides, resume, output_dir, command, log) -> None:
    from greennlp import tasks
    from greennlp.report.views import fmt, scaled

    if resume is not None:  # an empty id is refused, not taken for "no resume"
        r = tasks.resume(resume, output_dir or "runs", log=log)
    else:
        args = ([config] if config else []) + list(overrides or [])
        if output_dir is not None and output_dir.strip():
            args.append(f"output_dir={output_dir.strip()}")  # where a failed start is recorded
        try:
            config, overrides = _split_args(config, overrides)
            overrides = _with_output_dir(overrides, output_dir)
            cfg = tasks.load_config(config, overrides)
        except UserError as exc:
            _record_failed_start(args, command, str(exc))
            raise
        if tasks.task(cfg.task).passive_openmp:
            _passive_openmp()
        r = tasks.start(cfg, command, log=log)
    console.print(f"run [bold]{r.record.run_id}[/] -> {r.run_dir}", highlight=False)
    try:
        record = tasks.execute(r)
    except BaseException as exc:
        if not _interrupted(exc):
            raise
        err_console.print(f"interrupted; resume with `{tasks.resume_command(r.record)}`",
                          highlight=False, soft_wrap=True)
        raise typer.Exit(130) from None
    for item in tasks.summary(record):
        console.print(item, highlight=False)
    totals = record.totals()
    est = " (estimated)" if any("estimate" in s.energy_method for s in record.stages) else ""
    console.print(f"total: {fmt(totals['duration_s'])} s, {fmt(scaled(totals['energy_kwh'], 1e3))} Wh"
                  f"{est}, {fmt(scaled(totals['co2_kg'], 1e3))} g CO2e, ${fmt(totals['cost_usd'])}",
                  highlight=False)
    console.print(f"report: {r.run_dir / 'report.html'}", highlight=False)


@app.command()
@user_errors
def compress(run_id: str = typer.Argument(..., help="Run id (a unique prefix is enough)."),
             config: Optional[str] = typer.Argument(None, help="Config file or profile; only "
                                                    "its compress, evaluate and measure sections "
                                                    "are used."),
             overrides: Optional[list[str]] = typer.Argument(None, help="key=value overrides, "
                                                             "e.g. compress.prune.sparsities=[0.9]"),
             output_dir: str = typer.Option("runs", "--output-dir", help="Folder of runs."),
             plan: Optional[str] = typer.Option(None, "--plan", help="default, or frontier: "
                                                "also search structured pruning x "
                                                "distillation x runtime on dev (long).")
             ) -> None:
    """Compress the models of an existing run, audit what they forgot, update its report."""
    from greennlp import tasks

    config, overrides = _split_args(config, overrides)
    if plan is not None:
        overrides = [*overrides, f"compress.plan={plan}"]
    record = tasks.compress(run_id, config, tuple(overrides), output_dir,
                            log=functools.partial(console.print, highlight=False))
    for item in tasks.summary(record):
        console.print(item, highlight=False)
    console.print(f"report: {record.path.parent / 'report.html'}", highlight=False)


@app.command()
@user_errors
def audit(data: str = typer.Argument(..., help="A built-in dataset or corpus name, a .csv/"
                                     ".jsonl/.parquet file, or a .txt corpus (one document per "
                                     "line)."),
          overrides: Optional[list[str]] = typer.Argument(None, help="key=value overrides, e.g. "
                                                          "audit.threshold=0.7")) -> None:
    """Audit a dataset alone: cleaning, duplicates, near-duplicates, leakage, training
    dynamics; writes DATASHEET.md and AUDIT.md."""
    from greennlp.tasks.audit import audit as run_audit

    bad = [o for o in overrides or [] if "=" not in o]
    if bad:
        raise UserError(f"Write settings as key=value, got '{bad[0]}'.")
    record = run_audit(data, list(overrides or []), "greennlp " + shlex.join(sys.argv[1:]),
                       log=functools.partial(console.print, highlight=False))
    folder = record.path.parent
    console.print(f"datasheet: {folder / 'DATASHEET.md'}\naudit: {folder / 'AUDIT.md'}",
                  highlight=False)


@app.command("runs")
@user_errors
def list_runs(output_dir: str = typer.Option("runs", "--output-dir", help="Folder of runs."),
              limit: int = typer.Option(20, help="Show at most this many, newest first.")) -> None:
    """List recorded runs: id, status, dataset, the selected model's test score, kWh, CO2e, cost."""
    from greennlp import store
    from greennlp.report.views import fmt

    rows = store.list_runs(output_dir, limit)
    if not rows:
        console.print(f"no runs under {output_dir}")
        return
    table = Table()
    for col in ("run id", "status", "dataset", "selected model", "test score", "time (s)", "kWh",
                "kg CO2e", "cost ($)"):
        table.add_column(col)
    for r in rows:
        score = (f"{r['selection_metric'].replace('_', ' ')} {fmt(r['best_test_score'])}"
                 if r.get("selection_metric") and r.get("best_test_score") is not None
                 else fmt(r["best_test_accuracy"]))
        table.add_row(r["run_id"], r["status"], r["dataset"] or "-", r["best_model"] or "-",
                      score, fmt(r["duration_s"]), fmt(r["energy_kwh"]),
                      fmt(r["co2_kg"]), fmt(r["cost_usd"]))
    console.print(table)


@app.command()
@user_errors
def report(run_id: str = typer.Argument(..., help="Run id (a unique prefix is enough)."),
           output_dir: str = typer.Option("runs", "--output-dir")) -> None:
    """Regenerate a run's report, model card, datasheet and checklist from its record."""
    from greennlp import tasks
    from greennlp.run import find_record

    for path in tasks.write_reports(find_record(run_id, output_dir)).values():
        console.print(path, highlight=False)


@app.command()
@user_errors
def compare(run_a: str = typer.Argument(..., help="First run id, optionally RUN:MODEL."),
            run_b: str = typer.Argument(..., help="Second run id, optionally RUN:MODEL."),
            output_dir: str = typer.Option("runs", "--output-dir"),
            samples: int = typer.Option(2000, help="Paired bootstrap resamples.")) -> None:
    """Paired significance test of two runs' models on their shared test set.

    Without :MODEL each run's model selected on dev is used.
    """
    from greennlp.evaluate.compare import compare_runs
    from greennlp.run import find_record

    records, models = [], []
    for ref in (run_a, run_b):
        run_id, _, model = ref.partition(":")
        records.append(find_record(run_id, output_dir))
        models.append(model or None)
    r = compare_runs(records[0], records[1], models[0], models[1], n_samples=samples)
    boot, mc = r["bootstrap"], r["mcnemar"]
    console.print(f"A = {r['run_a']}:{r['a']}  accuracy {r['accuracy_a']:.4f}\n"
                  f"B = {r['run_b']}:{r['b']}  accuracy {r['accuracy_b']:.4f}  ({r['n']} test examples)\n"
                  f"difference A - B: {boot['difference']:+.4f} [{boot['low']:+.4f}, {boot['high']:+.4f}] "
                  f"(95% paired bootstrap), p = {boot['p_value']:.4g}\n"
                  f"McNemar: b = {mc['b']} (only A right), c = {mc['c']} (only B right), "
                  f"p = {mc['p_value']:.4g} ({mc['method']})", highlight=False)


@app.command()
@user_errors
def export(ref: str = typer.Argument(..., help="RUN_ID or RUN_ID:MODEL (default: the model "
                                     "selected on dev); a unique prefix of the id is enough."),
           fmt: str = typer.Option("hf", "--format", help="hf (a transformers folder), onnx "
                                   "(model.onnx + tokenizer, for plain ONNX Runtime) or "
                                   "openvino (an OpenVINO variant's IR + tokenizer) or "
                                   "adapter (a LoRA / IA3 model's adapter alone, peft's "
                                   "format)."),
           out: Optional[Path] = typer.Option(None, "--out", help="Folder to write (default: "
                                              "exports/MODEL-FORMAT in the run's folder)."),
           to: Optional[str] = typer.Option(None, "--to", help="mlflow: log the whole run "
                                            "(scores, curves, per-stage cost, data, the "
                                            "selected model, reports) instead."),
           uri: Optional[str] = typer.Option(None, "--uri", help="MLflow tracking URI (default: "
                                             "MLFLOW_TRACKING_URI, else MLflow's default)."),
           experiment: str = typer.Option("greennlp", "--experiment", help="MLflow experiment."),
           register: Optional[str] = typer.Option(None, "--register", help="With --to mlflow: "
                                                  "register the selected model under this "
                                                  "name in MLflow's model registry."),
           push_to_hub: Optional[str] = typer.Option(None, "--push-to-hub", help="Also upload "
                                                     "the export to this Hugging Face Hub "
                                                     "repository (OWNER/NAME)."),
           private: bool = typer.Option(False, "--private", help="Create the Hub repository "
                                        "as private."),
           dry_run: bool = typer.Option(False, "--dry-run", help="With --push-to-hub: list "
                                        "what would be uploaded, upload nothing."),
           output_dir: str = typer.Option("runs", "--output-dir", help="Folder of runs.")) -> None:
    """Export a run's classifier for transformers / ONNX Runtime, with its model card
    (README.md), optionally to the Hugging Face Hub; or the whole run to MLflow."""
    from greennlp.run import find_record

    run_id, _, model = ref.partition(":")
    if to is None:
        from greennlp.integrations import hub

        for line in hub.publish(find_record(run_id, output_dir), model or None, fmt, out,
                                push_to_hub, private, dry_run):
            console.print(line, highlight=False)
        return
    if to != "mlflow":
        raise UserError(f"Unknown export target '{to}'; use --to mlflow (or --format hf|onnx).")
    from greennlp import tasks
    from greennlp.integrations import mlflow as to_mlflow

    record = find_record(run_id, output_dir)
    if not (record.path.parent / "report.html").exists() and record.stages:
        tasks.write_reports(record)
    mlflow_run = to_mlflow.export(record, uri, experiment, register)
    console.print(f"run {record.run_id} -> MLflow run {mlflow_run} ({uri or 'default store'}, "
                  f"experiment {experiment})", highlight=False)


@app.command()
@user_errors
def predict(ref: str = typer.Argument(..., help="RUN_ID or RUN_ID:MODEL (default: the model "
                                      "selected on dev); a unique prefix of the id is enough."),
            source: str = typer.Argument(..., help="Texts: a .txt file (one per line), a "
                                         ".csv/.tsv/.jsonl/.parquet file (see --text-column), "
                                         "or - for standard input."),
            out: Optional[str] = typer.Option(None, "--out", help="File to write (default: "
                                              "standard output)."),
            fmt: Optional[str] = typer.Option(None, "--format", help="csv or jsonl (default: "
                                              "from --out's suffix, else csv)."),
            text_column: str = typer.Option("text", "--text-column", help="The column of "
                                            "texts in a table."),
            batch_size: int = typer.Option(32, "--batch-size", help="Texts per forward pass."),
            output_dir: str = typer.Option("runs", "--output-dir", help="Folder of runs.")
            ) -> None:
    """Label texts with a run's classifier: label and probabilities per text (CSV or JSON
    lines), and the price of predicting (energy, CO2e, $ per 1M texts)."""
    from greennlp.integrations import serving
    from greennlp.run import find_record

    run_id, _, model = ref.partition(":")
    done = serving.predict_file(find_record(run_id, output_dir), model or None, source, out,
                                fmt, text_column, batch_size)
    err_console.print(serving.price_line(done), highlight=False, soft_wrap=True)


@app.command()
@user_errors
def config(config: Optional[str] = typer.Argument(None, help="Config file or profile."),
           overrides: Optional[list[str]] = typer.Argument(None, help="key=value overrides.")) -> None:
    """Print the fully resolved configuration (YAML) without running anything."""
    import yaml

    from greennlp.config import to_dict
    from greennlp.tasks import load_config

    config, overrides = _split_args(config, overrides)
    console.print(yaml.safe_dump(to_dict(load_config(config, overrides)), sort_keys=False),
                  highlight=False)


@app.command()
@user_errors
def regions(kind: str = typer.Argument("cloud", help="world, countries or cloud")) -> None:
    """List the regions measure.region accepts, with their carbon intensity."""
    from greennlp.measure import tables

    all_regions = tables.regions()
    if kind not in all_regions:
        raise UserError(f"Unknown region kind '{kind}'; choose world, countries or cloud.")
    for key in all_regions[kind]:
        value, source = tables.carbon_intensity(key)
        console.print(f"{key:28s} {value:8.1f} g/kWh  {source}", highlight=False)


@app.command()
@user_errors
def estimate(config: Optional[str] = typer.Argument(None, help="A greennlp config (its lm "
                                                "section) or a transformers config.json."),
             params: Optional[float] = typer.Option(None, "--params", help="Parameters, e.g. 175e9."),
             tokens: Optional[float] = typer.Option(None, "--tokens", help="Training tokens, e.g. 300e9."),
             model: str = typer.Option("gpt", "--model", help="Which lm model of a greennlp config."),
             accelerator: str = typer.Option("a100", "--accelerator", help="See --list."),
             count: int = typer.Option(1, "--count", help="Number of accelerators."),
             utilisation: Optional[float] = typer.Option(None, "--utilisation",
                                                         help="Fraction of peak reached (default 0.4)."),
             tflops: Optional[float] = typer.Option(None, "--tflops", help="Achieved TFLOP/s per "
                                                    "accelerator (overrides peak x utilisation)."),
             precision: str = typer.Option("bf16", "--precision", help="bf16, fp16 or fp32."),
             days: Optional[float] = typer.Option(None, "--days", help="A known duration instead "
                                                  "of FLOPs."),
             watts: Optional[float] = typer.Option(None, "--watts", help="Power per accelerator "
                                                   "(default: its board power)."),
             pue: float = typer.Option(1.1, "--pue", help="Data-centre PUE."),
             region: str = typer.Option("world", "--region", help="Grid region, as measure.region."),
             intensity: Optional[float] = typer.Option(None, "--intensity", help="gCO2e/kWh "
                                                       "(overrides --region)."),
             price: Optional[float] = typer.Option(None, "--price-per-hour", help="$ per "
                                                   "accelerator-hour."),
             list_accelerators: bool = typer.Option(False, "--list", help="Show the accelerator "
                                                    "table and exit.")) -> None:
    """Estimate a training run before it happens: FLOPs, time, energy, CO2e, money."""
    from greennlp.measure import planner
    from greennlp.report.views import fmt

    if list_accelerators:
        for a in planner.ACCELERATORS.values():
            console.print(f"{a.name:10s} {a.tflops_16:7g} TFLOP/s 16-bit  {a.tflops_32:6g} fp32  "
                          f"{a.tdp_w:4g} W  {a.source}", highlight=False)
        return
    flops, how = None, "given"
    if days is None:
        per_token = planner.model_from_config(config, model) if config else None
        if per_token:
            console.print(f"model: {per_token['description']}: {per_token['params_total']:,} "
                          f"parameters, {per_token['training_flops_per_token']:.4g} training "
                          f"FLOPs per token", highlight=False)
            if "params_encoder_with_pooler" in per_token:
                console.print(f"the encoder with its pooler alone (BertModel, as fine-tuned): "
                              f"{per_token['params_encoder_with_pooler']:,} parameters",
                              highlight=False)
        flops, how = planner.training_flops(
            params=params, tokens=tokens,
            flops_per_token=per_token["training_flops_per_token"] if per_token else None)
    result = planner.estimate(flops=flops, flops_source=how, accelerator_name=accelerator,
                              count=count, utilisation=utilisation, achieved_tflops=tflops,
                              precision=precision, days=days, watts=watts, pue=pue, region=region,
                              intensity_g_per_kwh=intensity, price_per_hour_usd=price)
    table = Table(title="estimate", title_justify="left")
    for col in ("quantity", "value", "unit", "how"):
        table.add_column(col, justify="right" if col == "value" else "left")
    for row in result["rows"]:
        table.add_row(row["quantity"], fmt(row["value"], 4), row["unit"], row["how"])
    console.print(table)


# -- export: `greennlp export RUN_ID --to mlflow` ---------------------------------------------
def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
