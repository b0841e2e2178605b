"""Glue for the PIE audit: the dense and compressed populations, cheaply.

The dense population is the PIE model (by default the small scratch transformer) at
seeds ``seed, seed+1, ...``: the run's final model and its seed replicas
(the ``seed:<model>:s<k>`` stages), whose saved test probabilities are reused as they
are. When the run has fewer replicas than the audit needs, the missing ones are trained
the same way by the ``reseed`` the task's recipe hands in (and join the run's
seed-variance table); checkpoints given in ``compress.pie.checkpoints`` are reused
before that. Each
dense member is then pruned and briefly fine-tuned: that is the compressed population.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from greennlp.compress.base import Context, label_indices
from greennlp.compress.pie import pie_audit
from greennlp.compress.pruning import MagnitudePruner
from greennlp.models import load_model
from greennlp.record import AUDIT, PieAudit, SeedRuns, build
from greennlp.run import Run

Reseed = Callable[[Run, str, int], SeedRuns]  # (run, model, count): seeds 1..count-1 trained


def _saved_proba(checkpoint: Path) -> np.ndarray | None:
    path = Path(checkpoint).parent / "test_proba.npy"
    return np.load(path) if path.exists() else None


def dense_population(run: Run, pcfg, reseed: Reseed | None) -> list[dict[str, Any]]:
    """The dense members: ``{"seed", "model", "source", "test_proba"}`` (proba may be None,
    then the audit scores the member on test itself). Seed replicas the run lacks are
    trained first by ``reseed``, as the run's own ``seed:`` stages (without it, the audit
    takes the replicas there are)."""
    name = pcfg.model
    final = run.record.model(name)
    members = [{"seed": run.record.seeds.get(f"model:{name}", run.cfg.seed),
                "model": run.models[name], "source": "this run's model",
                "test_proba": _saved_proba(Path(final.checkpoint))}]
    for path in pcfg.checkpoints[:pcfg.seeds - 1]:
        members.append({"seed": None, "model": load_model(path),
                        "source": f"checkpoint {path}", "test_proba": None})
    missing = pcfg.seeds - len(members)
    if missing > 0:
        runs = run.record.seed_runs.get(name)
        rows = runs.per_seed if runs else []
        if len(rows) < missing + 1 and reseed is not None:
            run.log(f"PIE: training {name} with {missing + 1 - len(rows)} more seed(s)")
            rows = reseed(run, name, missing + 1).per_seed
        for row in rows[1:missing + 1]:
            members.append({"seed": row.seed, "model": load_model(row.checkpoint),
                            "source": f"seed replica ({row.stage})",
                            "test_proba": _saved_proba(Path(row.checkpoint))})
    return members


def same_pruned_variant(run: Run, pcfg) -> dict[str, Any] | None:
    """The run's own pruned variant of the PIE model, when it was made exactly as the audit
    would make it (global one-shot magnitude pruning to the same sparsity, the same
    fine-tuning, same seed): its saved test probabilities join the pruned population."""
    prune = run.cfg.compress.prune
    name = f"{pcfg.model}+{MagnitudePruner(pcfg.sparsity).name}"
    result = run.record.model(name)
    saved = run.run_dir / "models" / name / "test_proba.npy"
    same = (prune.model == pcfg.model and prune.scope == "global"
            and prune.schedule == "one_shot" and prune.train == pcfg.finetune)
    if not (same and result and result.test and saved.exists()):
        return None
    return {"test_proba": np.load(saved), "sparsity": result.compression.get("sparsity"),
            "source": f"the run's variant {name}"}


def run_pie(run: Run, pcfg, dense: list[dict[str, Any]]) -> PieAudit:
    """Score the dense members on test once each (unless saved), prune and score each
    member (or reuse the run's own pruned variant), and audit.

    Every test pass goes through the run's gate as an audit (``audit:pie:...``).

    Returns
    -------
    PieAudit
        The :func:`~greennlp.compress.pie.pie_audit` result plus the settings, each
        member's source and test accuracy, and the number of test passes spent.
    """
    labels = dense[0]["model"].labels
    test = run.splits.test  # texts and labels to audit; every model pass goes through the gate
    texts = test["text"].tolist()
    true = np.array(label_indices(labels, test["label"]))
    spent = 0
    for k, m in enumerate(dense):
        if m["test_proba"] is None:
            m["test_proba"] = run.test_pass(f"{AUDIT}pie:{pcfg.model}:dense{k}",
                                            lambda t, m=m: m["model"].predict_proba(texts, 64))
            spent += 1
    compressed = []
    reused = same_pruned_variant(run, pcfg)
    folder = run.run_dir / "compress" / "pie"
    folder.mkdir(parents=True, exist_ok=True)
    for k, m in enumerate(dense):
        if m["source"] == "this run's model" and reused is not None:
            compressed.append(reused)
            continue
        pruner = MagnitudePruner(pcfg.sparsity, scope="global", train_cfg=pcfg.finetune)
        seed = m["seed"] if isinstance(m["seed"], int) else run.cfg.seed + k
        ctx = Context(run.splits, seed, folder, run.log)
        run.log(f"PIE: pruning {pcfg.model} seed {m['seed']} to {pcfg.sparsity:.0%}")
        pruned = pruner.compress(m["model"], ctx)
        proba = run.test_pass(f"{AUDIT}pie:{pcfg.model}:pruned{k}",
                              lambda t: pruned.predict_proba(texts, 64))
        compressed.append({"test_proba": proba, "sparsity": pruner.facts_["sparsity"],
                           "source": "pruned for the audit"})
        spent += 1
    dense_p = [m["test_proba"] for m in dense]
    comp_p = [m["test_proba"] for m in compressed]
    out = folder / "test_proba.npz"
    np.savez_compressed(out, dense=np.stack(dense_p), compressed=np.stack(comp_p), true=true)
    audit = pie_audit(true, dense_p, comp_p, labels, texts)
    audit.update({
        "model": pcfg.model, "sparsity": pcfg.sparsity, "seeds": [m["seed"] for m in dense],
        "dense_sources": [m["source"] for m in dense],
        "dense_test_accuracy": [float(np.mean(p.argmax(1) == true)) for p in dense_p],
        "compressed_test_accuracy": [float(np.mean(p.argmax(1) == true)) for p in comp_p],
        "compressed_sparsity": [m["sparsity"] for m in compressed],
        "compressed_sources": [m["source"] for m in compressed],
        "test_evaluations": spent, "probabilities": str(out),
        "note": "audit populations are scored on test once each; nothing is selected on them",
    })
    return build(PieAudit, audit)
