"""Upgrading records written by earlier versions of greennlp to the current schema.

Version 1 (no ``schema_version`` key; greennlp 0.1 before the typed record): the
sections that are typed now were plain mappings with the same keys, so most of a
version-1 record loads as it is. What changed:

- ``models[].compression`` was ``{}`` for dense models; now it is absent (None).
- ``compression.summary`` was stored; it is derived from the models, so the report
  recomputes it. The dense reference it named is kept as ``compression.reference``.
- ``tested`` (which models were scored on test) did not exist: it is rebuilt from the
  models with test scores and the seed runs; the audit passes counted in
  ``compression.audit_test_evaluations`` become ``audit:v1-<i>`` entries.

Version 2: ``selection`` held only the metric (classification runs); LM runs had none, so
no model was selected. Version 3 adds its direction (``higher_is_better``) and gives runs
whose models were scored by perplexity alone (LM runs) the selection their cards made:
the lowest dev perplexity.

Version 4: one data section for every task: each split's statistics name their rows
``size`` (LM records called them ``documents``, which is kept). The config an LM run
recorded before (its corpus in ``lm.corpus``) is upgraded where a config is read back,
by :func:`greennlp.config.config_from_record`.

Version 5: paths inside the run (checkpoints, artifacts, saved probabilities) are stored
relative to the run's folder (:mod:`greennlp.record.paths`); older records held them
relative to the working directory of the run, and keep the part after the run's folder.
"""

from __future__ import annotations

import copy
from typing import Any

from greennlp.errors import UserError
from greennlp.record.paths import after_run_id, convert_paths

SCHEMA_VERSION = 5
AUDIT = "audit:"  # the prefix of test-gate keys of audit passes (not a final model)


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` in the current schema (unchanged if it already is)."""
    version = data.get("schema_version", 1)
    if version > SCHEMA_VERSION:
        raise UserError(f"Run record schema {version} is newer than this greennlp understands "
                        f"({SCHEMA_VERSION}); upgrade greennlp to read it.")
    data = copy.deepcopy(data)
    if version < 2:
        _v1_to_v2(data)
    if version < 3:
        _v2_to_v3(data)
    if version < 4:
        _v3_to_v4(data)
    if version < 5:
        convert_paths(data, after_run_id(str(data.get("run_id", ""))))
        data["schema_version"] = 5
    return data


def _v1_to_v2(data: dict[str, Any]) -> None:
    for model in data.get("models", []):
        if not model.get("compression"):
            model["compression"] = None
    compression = data.get("compression") or {}
    best = (compression.pop("summary", None) or {}).get("best") or {}
    compression.setdefault("reference", best.get("reference"))
    audits = compression.pop("audit_test_evaluations", 0)
    data["compression"] = compression
    tested = [m["name"] for m in data.get("models", []) if m.get("test")]
    for runs in (data.get("seed_runs") or {}).values():
        tested += [row["stage"] for row in runs.get("per_seed", [])
                   if str(row.get("stage", "")).startswith("seed:")]
    data["tested"] = tested + [f"{AUDIT}v1-{i}" for i in range(audits)]
    data["schema_version"] = 2


def _v2_to_v3(data: dict[str, Any]) -> None:
    selection = data.setdefault("selection", {}) or {}
    data["selection"] = selection
    dev = [set(m.get("dev") or {}) for m in data.get("models", [])]
    perplexity_only = any("perplexity" in d for d in dev) and not any("accuracy" in d for d in dev)
    if perplexity_only and "metric" not in selection:  # a language-modelling run
        selection.update(metric="perplexity", higher_is_better=False,
                         reason="lowest dev perplexity among the models sharing the run's "
                                "tokenizer (record upgraded from schema 2)")
    elif "metric" in selection:
        selection.setdefault("higher_is_better", True)
    data["schema_version"] = 3


def _v3_to_v4(data: dict[str, Any]) -> None:
    for stats in ((data.get("data") or {}).get("stats") or {}).get("splits", {}).values():
        if "documents" in stats:
            stats.setdefault("size", stats["documents"])
    data["schema_version"] = 4
