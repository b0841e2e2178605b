"""greennlp from Python: measure your own code, run a config, load what a run made.

These are the functions ``import greennlp`` offers (``greennlp.track``,
``greennlp.run_config``, ``greennlp.load_model``, ``greennlp.load_record``); each
imports the heavy parts of greennlp only when it is called. A Hugging Face ``Trainer``
is recorded by :class:`greennlp.integrations.hf.GreenNLPCallback`.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

if TYPE_CHECKING:
    from greennlp.record import RunRecord, StageResult


@contextmanager
def track(name: str = "block", *, record: "RunRecord | None" = None, **measure: Any
          ) -> Iterator["StageResult"]:
    """Measure the enclosed block: wall time, CPU time, energy, CO2e and money.

    The footprint is built from greennlp's ``measure`` settings (the defaults, changed by
    ``measure``: ``region``, ``pue``, ``price_per_hour_usd``, ``price_source``,
    ``cpu_watts_per_thread``) with the best energy backends this machine has.

    Parameters
    ----------
    name
        The stage's name.
    record
        A run record to add the stage to (optional).

    Yields
    ------
    StageResult
        Filled when the block ends: ``duration_s``, ``cpu_time_s``, ``energy_kwh``,
        ``co2_kg``, ``cost_usd``, and ``energy_method``, which says per component how
        energy was obtained (``measured:rapl``, ``measured:nvml`` or an ``estimate:``);
        ``energy_detail`` holds the inputs. Put your own facts in ``metrics``.

    Examples
    --------
    >>> import greennlp
    >>> with greennlp.track("sum", region="FRA") as stage:
    ...     total = sum(range(100_000))
    >>> stage.duration_s > 0 and stage.co2_kg is not None and "cpu:" in stage.energy_method
    True
    """
    from greennlp.config import MeasureConfig, from_dict
    from greennlp.measure import Footprint
    from greennlp.measure import track as measure_track

    footprint = Footprint.from_config(from_dict(MeasureConfig, measure, "measure."))
    with measure_track(name, record, footprint) as stage:
        yield stage


def _override_strings(overrides: Mapping[str, Any] | Sequence[str] | None) -> list[str]:
    if overrides is None:
        return []
    if isinstance(overrides, Mapping):  # JSON is YAML, which is how overrides are read
        return [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in overrides.items()]
    return list(overrides)


def run_config(config: str | None = None,
               overrides: Mapping[str, Any] | Sequence[str] | None = None, *,
               log: Any = print) -> "RunRecord":
    """Run a configuration, as ``greennlp run`` does, and return its record.

    Parameters
    ----------
    config
        A config file (.yaml/.toml/.json), a built-in profile (``quick``) or None.
    overrides
        ``{"data.source": "reviews.csv", "models": ["tfidf_logreg"]}`` or
        ``["data.source=reviews.csv"]``.
    log
        Where progress lines go (``print`` by default).

    Returns
    -------
    RunRecord
        The finished run: ``run_id``, ``run_dir``, ``models``, ``stages``, ``totals()``.
        A bad input raises :class:`greennlp.errors.UserError`, and the run is recorded
        as failed.
    """
    from greennlp import tasks
    from greennlp.errors import UserError

    strings = _override_strings(overrides)
    command = f"greennlp.run_config({config!r}, {strings!r})"
    try:
        cfg = tasks.load_config(config, strings)
    except UserError as exc:  # recorded as failed, as `greennlp run` does
        output_dir = next((s.partition("=")[2] for s in strings if s.startswith("output_dir=")),
                          "runs")
        tasks.record_failed_start(output_dir, command, str(exc))
        raise
    return tasks.execute(tasks.start(cfg, command=command, log=log))


def load_record(run_id: str, output_dir: str = "runs") -> "RunRecord":
    """The record of a run (a unique prefix of its id is enough)."""
    from greennlp.run import find_record

    return find_record(run_id, output_dir)


def load_model(run_id: str, model: str | None = None, output_dir: str = "runs") -> Any:
    """A model a run trained: ``model`` by name, or the one the run selected on dev.

    The model has ``predict_proba(texts)`` and ``labels``, as in the run.
    """
    from greennlp.errors import UserError
    from greennlp.models import load_model as load_folder

    record = load_record(run_id, output_dir)
    chosen = record.model(model) if model else record.select()
    if chosen is None or not chosen.checkpoint:
        names = ", ".join(m.name for m in record.models if m.checkpoint) or "none"
        raise UserError(f"Run {record.run_id} has no model '{model or 'selected on dev'}'; its "
                        f"models are: {names}.")
    return load_folder(chosen.checkpoint)
