"""Text classification: data -> search -> train and evaluate each model -> seeds ->
compression -> paired comparisons -> report.

This module is the recipe (the order of the stages), the configuration checks that need
the table of model families, and the console summary; the stages only classification
has are in :mod:`greennlp.tasks.classification_stages` (imported when a run starts:
they import torch).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from greennlp.config import RunConfig, section
from greennlp.config.compress import STUDENT
from greennlp.errors import UserError
from greennlp.models import family, names
from greennlp.record import RunRecord
from greennlp.report import classification_reports
from greennlp.run import Run
from greennlp.search import space as spaces
from greennlp.tasks import Task, register_task
from greennlp.tasks.common import check_choice, check_listed, report_stage

NAME = "classification"


def stages() -> tuple[Callable[[Run], None], ...]:
    """The recipe."""
    from greennlp.search.seeds import stage_seeds
    from greennlp.search.stages import stage_search
    from greennlp.tasks import audit_stages as a
    from greennlp.tasks import classification_stages as s
    from greennlp.tasks.subset_stage import stage_subset

    return (s.stage_data, s.stage_baselines, a.audit_stage(labelled=True, spans=False),
            a.stage_dynamics, stage_subset, stage_search, s.stage_models,
            stage_seeds,
            # after the seeds (the PIE audit reuses them), before comparing
            *compress(),
            a.stage_clean_test, s.stage_compare,
            report_stage(classification_reports))


def compress() -> tuple[Callable[[Run], None], ...]:
    """Compression and the analysis of every model and variant, per language too (also what
    ``greennlp compress RUN_ID`` runs); the PIE audit trains the seed replicas it lacks with the
    seeds stage's function (the stage packages are peers: the recipe joins them)."""
    from greennlp.compress.stages import stage_compress
    from greennlp.search.seeds import seed_family
    from greennlp.tasks.analysis_languages import stage_languages
    from greennlp.tasks.analysis_stages import stage_analysis

    return (functools.partial(stage_compress, reseed=seed_family), stage_analysis,
            stage_languages)


def audit() -> tuple[Callable[[Run], None], ...]:
    """What ``greennlp audit`` runs on labelled data: data, near-duplicates, dynamics."""
    from greennlp.tasks import audit_stages as a
    from greennlp.tasks import classification_stages as s

    return (s.stage_data, a.audit_stage(labelled=True, spans=False), a.stage_dynamics)


def _prepare(run: Run) -> tuple[Any, dict[str, Any]]:
    from greennlp.tasks.classification_stages import prepare_data

    return prepare_data(run)


def _selection(run: Run) -> dict[str, Any]:
    from greennlp.tasks.classification_stages import selection

    return selection(run)


def _evaluate(run: Run, result, model, full: bool = True) -> tuple[dict, dict]:
    from greennlp.tasks.classification_stages import evaluate

    return evaluate(run, result, model, full)


# -- configuration checks that need the family table ---------------------------------------
def check(cfg: RunConfig) -> None:
    """Every check of a classification config that needs the table of model families."""
    check_listed("models", cfg.models, names(NAME), "model name")
    searchable, seeded = names(NAME, searchable=True), names(NAME, seeded=True)
    for key, given, allowed in (("search.families", tuple(cfg.search.families), searchable),
                                ("seeds.models", cfg.seeds.models, seeded)):
        bad = [n for n in given if n not in allowed]
        if bad:
            raise UserError(f"'{bad[0]}' in {key} cannot be searched or reseeded; use "
                            f"{', '.join(allowed)}.")
    for name, fam in cfg.search.families.items():
        spaces.validate(name, fam.space, section(cfg, family(name).section), family(name).section)
    _check_base_models(cfg)
    _check_compress(cfg)
    _check_subset(cfg)


def _check_subset(cfg: RunConfig) -> None:
    """A ranked subset needs the audit's probe training, which scores the examples."""
    t = cfg.train
    if t.data_fraction < 1 and t.data_ranking != "random" and not (cfg.audit.enabled
                                                                  and cfg.audit.dynamics):
        raise UserError(f"train.data_ranking={t.data_ranking} ranks the training examples by "
                        f"the audit's probe training; set audit.enabled=true and "
                        f"audit.dynamics=true, or train.data_ranking=random.")


def _check_base_models(cfg: RunConfig) -> None:
    """A base model named by a Hub id or a folder is found before any work (a folder with
    config.json and weights, or a Hub id in the cache or downloadable), not after the data
    and audit stages; the bundled one (no name) is checked by the family's availability."""
    from greennlp.config import to_dict
    from greennlp.models.pretrained import resolve

    recorded = None
    for name in cfg.models:
        base_name = family(name).base_name
        if base_name is None:
            continue
        recorded = recorded or to_dict(cfg)
        if base_name(recorded):
            resolve(base_name(recorded))


def _check_compress(cfg: RunConfig) -> None:
    c = cfg.compress
    encoders = names(NAME, compressible=True)
    check_choice("compress.reference", c.reference, encoders)
    check_choice("compress.prune.model", c.prune.model, encoders)
    check_choice("compress.early_exit.model", c.early_exit.model, [STUDENT] + encoders)
    check_choice("compress.pie.model", c.pie.model, names(NAME, compressible=True, seeded=True))
    if "early_exit" not in c.methods:
        return
    source = c.early_exit.model
    encoder = c.reference if source == STUDENT else source
    encoder_type = family(encoder).encoder_type
    if encoder_type is not None and encoder in cfg.models:
        from greennlp.models.hf_format import EARLY_EXIT_ARCHITECTURES as known

        kind = encoder_type(cfg)
        if kind not in known:
            raise UserError(f"Early exit handles {', '.join(known)} encoders, and {encoder} is "
                            f"a {kind!r} model here ({family(encoder).section} settings); remove "
                            f"early_exit from compress.methods or set "
                            f"compress.early_exit.model to one of those.")
    depth = c.distill.layers if source == STUDENT else _fewest_layers(cfg, source)
    if depth is None:  # a family that does not say how deep it is: checked when it is built
        return
    if depth < 2 or any(not 1 <= x < depth for x in c.early_exit.exit_layers):
        raise UserError(f"compress.early_exit needs exit layers between 1 and {depth - 1} for "
                        f"{source}, which may have {depth} layer(s); change "
                        f"compress.early_exit.exit_layers or compress.early_exit.model.")


def _fewest_layers(cfg: RunConfig, name: str) -> int | None:
    """The depth of family ``name`` in this run: configured, or the least its search allows."""
    if family(name).depth is None:
        return None
    depth = family(name).depth(cfg)
    space = cfg.search.families.get(name)
    spec = space.space.get("num_layers") if cfg.search.enabled and space else None
    if spec is not None:
        depth = int(min(spec.values) if spec.dist == "choice" else spec.low)
    return depth


def summary(record: RunRecord) -> list[Any]:
    """The console summary: one table row per model."""
    from rich.table import Table

    from rich.text import Text

    from greennlp.report.views import (baseline_rows, ci, fmt, model_rows, sanity_warnings,
                                       scaled, selection_text)

    table = Table(title=f"run {record.run_id} ({record.status})", title_justify="left",
                  caption=selection_text(record), caption_justify="left")
    for col in ("model", "params", "dev acc", "test acc [95% CI]", "test macro F1", "ms/ex b=1",
                "ex/s b=32", "train s", "train Wh", "train g CO2e"):
        table.add_column(col, justify="left" if col == "model" else "right")
    best = record.select()
    for r in model_rows(record) + baseline_rows(record):
        star = " *" if best and r["name"] == best.name else ""
        table.add_row(r["name"] + star, fmt(r["params"]), ci(r["dev_accuracy"]).split(" ")[0],
                      ci(r["test_accuracy"]), ci(r["test_macro_f1"]).split(" ")[0],
                      fmt(r["latency_ms"]), fmt(r["throughput"]), fmt(r.get("train_duration_s")),
                      fmt(scaled(r.get("train_energy_kwh"), 1e3)),
                      fmt(scaled(r.get("train_co2_kg"), 1e3)))
    return [table, *(Text(w, style="bold red") for w in sanity_warnings(record))]


TASK = register_task(Task(
    name=NAME, stages=stages, reports=classification_reports, summary=summary, audit=audit,
    compress=compress, prepare=_prepare, selection=_selection, evaluate=_evaluate,
    check=check))
