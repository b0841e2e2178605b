"""The frontier plan in a run: one measured search stage, then its chosen variants.

``compress:frontier`` runs :func:`greennlp.compress.frontier.search` (its price is the
price of the search: every student trained, every runtime built and timed). Each
variant chosen on dev then becomes two ordinary compression steps, so it is saved,
scored on test once and timed side by side with its dense root like any variant: the
torch student (``<ref>+prune-L3-A6-F384``, which ``greennlp export --format hf``
exports) and the runtime that runs it fastest (``...+onnx-int8-static``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from greennlp.compress.base import Context, Step
from greennlp.compress.frontier import search
from greennlp.data.unlabelled import unlabelled_texts
from greennlp.models import load_model
from greennlp.run import Run

SEARCH_FILE = "search.json"


class Prebuilt:
    """Compressor: a model the frontier search already made and measured on dev."""

    def __init__(self, label: str, folder: str, facts: dict[str, Any]) -> None:
        self.name, self.folder, self.facts = label, folder, facts

    def compress(self, model: Any, ctx: Context) -> Any:
        return load_model(self.folder)

    def describe(self) -> dict[str, Any]:
        return dict(self.facts)


def in_domain_documents(run: Run) -> tuple[list[str], str | None]:
    """The dataset's unlabelled documents, except those of dev and test groups (none when
    the dataset has no such text)."""
    held_out = {g for split in (run.splits.dev, run.splits.test) if "group" in split.columns
                for g in split["group"]}
    return unlabelled_texts(run.cfg.data.source, held_out)


def _search(run: Run, ref: str) -> dict[str, Any]:
    root = run.run_dir / "compress" / "frontier"
    ccfg = run.cfg.compress

    def work(st) -> dict[str, Any]:
        docs, what = in_domain_documents(run)
        ctx = Context(run.splits, run.cfg.seed, root / "work", run.log, unlabelled=docs)
        result = search(run.models[ref], ctx, ccfg.frontier, ccfg.max_drop_points, root,
                        run.record.selection_metric)
        result.update(reference=ref, in_domain=what, in_domain_documents=len(docs))
        (root / SEARCH_FILE).write_text(json.dumps(result, indent=1, default=str))
        st.metrics = {"students": sum("dev_score" in s for s in result["students"]),
                      "candidates": len(result["candidates"]),
                      "chosen": [f"{c['student']}+{c['runtime']}" for c in result["chosen"]],
                      "fastest_runtime": result["fastest_runtime"]}
        st.artifacts["search"] = str(root / SEARCH_FILE)
        return result
    return run.stage("compress:frontier", work,
                     reload=lambda st: json.loads((root / SEARCH_FILE).read_text()))


def frontier_steps(run: Run, ref: str) -> list[Step]:
    """The frontier search (a stage of its own) and the steps of what it chose."""
    result = _search(run, ref)
    steps: list[Step] = []
    for c in result["chosen"]:
        student_label = f"prune-{c['student']}"
        student_name = f"{ref}+{student_label}"
        if student_name not in {s.name for s in steps}:
            folder = next(s["folder"] for s in result["students"] if s["shape"] == c["student"])
            facts = json.loads((Path(folder) / "frontier_facts.json").read_text())
            steps.append(Step(ref, _prebuilt(student_label, folder, facts), student_label))
        if c["runtime"] != "torch":
            facts = {"method": "runtime", "runtime": c["runtime"],
                     "dev_agreement_with_student": c["agreement"],
                     "search_speedup_b32": c["speedup"],
                     "fastest_runtime_of_student": result["fastest_runtime"].get(c["student"])}
            steps.append(Step(student_name, _prebuilt(c["runtime"], c["folder"], facts),
                              c["runtime"]))
    return steps


def _prebuilt(label: str, folder: str, facts: dict[str, Any]):
    return lambda: Prebuilt(label, folder, facts)
