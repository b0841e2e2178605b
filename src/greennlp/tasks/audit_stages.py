"""The data audit as stages: near-duplicates and contamination (``audit``), MAP-D and
cartography of the cheapest neural model (``audit:dynamics``, for labelled data), and the
clean-test scores of every classifier (``audit:clean_test``; a language model's are in
:mod:`greennlp.tasks.lm_stages`). Their findings go to ``record.data["audit"]``, which the
datasheet and the report read. A task puts the stages it needs into its recipe, with its
options (:func:`audit_stage`).
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import Callable

import numpy as np

from greennlp.data.audit import audit_splits, clean_test_mask
from greennlp.evaluate import cartography, map_d
from greennlp.evaluate.bootstrap import bootstrap_scores
from greennlp.record import StageResult
from greennlp.run import Run, seed_everything
from greennlp.search.stages import family_config
from greennlp.train import distributed
from greennlp.train.progress import progress_bar

SPLITS = ("train", "dev", "test")


def audit_stage(labelled: bool, spans: bool) -> Callable[[Run], None]:
    """The stage ``audit`` of a task: near-duplicates in train, train <-> dev / test
    matches, with the recall of LSH against brute force; ``labelled``: the splits carry
    labels (near-duplicates with different labels are counted); ``spans``: also exact
    shared spans of running text (contamination of an LM corpus)."""
    return functools.partial(stage_audit, labelled=labelled, spans=spans)


def stage_audit(run: Run, labelled: bool = True, spans: bool = False) -> None:
    """See :func:`audit_stage`."""
    acfg = run.cfg.audit
    if not acfg.enabled or not distributed.is_main():  # torchrun: rank 0 audits
        return

    def work(st: StageResult) -> None:
        splits = {n: run.splits.texts(n) for n in SPLITS}
        labels = {n: run.splits[n]["label"].astype(str).tolist() for n in SPLITS} \
            if labelled else None
        with progress_bar("audit: near-duplicates", total=sum(map(len, splits.values()))) as bar:
            found = audit_splits(splits, acfg, labels=labels, lm=spans, progress=bar.advance)
        run.record.data["audit"] = found
        st.metrics = {"train_in_clusters_share": found["train"]["in_clusters_share"],
                      "dev_with_train_match_share": found["dev"]["with_train_match_share"],
                      "test_with_train_match_share": found["test"]["with_train_match_share"],
                      "lsh_recall": found["recall"]["recall"], **found["duration_s"]}
        run.log(f"audit: {found['train']['in_clusters_share']:.2%} of train in near-duplicate "
                f"clusters, {found['test']['with_train_match_share']:.2%} of test near-duplicates "
                f"train (Jaccard >= {acfg.threshold} on word {acfg.ngram}-grams; LSH recall "
                f"{found['recall']['recall']:.3f})")
    run.stage("audit", work)


def stage_dynamics(run: Run) -> None:
    """MAP-D probes and dataset cartography from a training run of the cheapest neural
    model on train + probes (labelled data)."""
    acfg = run.cfg.audit
    if not (acfg.enabled and acfg.dynamics):
        return
    folder = run.run_dir / "audit" / acfg.dynamics_model

    def work(st: StageResult) -> None:
        from greennlp.train.probe_training import fit_with_probes, probe_section

        seed_everything(run.cfg.seed)
        shutil.rmtree(folder, ignore_errors=True)
        section = probe_section(family_config(run, acfg.dynamics_model), acfg)
        frame, suites, dyn, info = fit_with_probes(
            acfg.dynamics_model, section, run.splits, acfg.probe_size, acfg.dynamics_epochs,
            run.cfg.seed, folder)
        texts, labels = frame["text"].tolist(), frame["label"].astype(str).tolist()
        found = map_d.scores(dyn["loss"], suites, acfg.knn)
        carto = cartography.cartography(dyn["prob"], dyn["correct"])
        np.savez_compressed(folder / "map_d.npz", suites=suites, category=found["category"],
                            score=found["score"], noise_score=found["noise_score"],
                            confidence=carto["confidence"], variability=carto["variability"])
        n = len(run.splits.train)
        ordinary = np.arange(len(frame)) < n  # the training split; the probe copies follow it
        carto_train = {k: v[ordinary] for k, v in carto.items()}
        run.record.data.setdefault("audit", {})["dynamics"] = {
            "model": acfg.dynamics_model, "epochs": int(len(dyn["loss"])),
            "probe_size": int((suites == "random_labels").sum()), "knn": acfg.knn,
            "best_dev_accuracy": info.get("best_dev_accuracy"),
            "map_d": map_d.summary(found, suites, ordinary, texts, labels, dyn["loss"],
                                   acfg.examples),
            "cartography": cartography.summary(carto_train, texts[:n], labels[:n], acfg.examples),
            "points": {"confidence": [round(float(x), 4) for x in carto_train["confidence"]],
                       "variability": [round(float(x), 4) for x in carto_train["variability"]],
                       "category": found["category"][ordinary].tolist()},
        }
        st.metrics = {"probe_accuracy": run.record.data["audit"]["dynamics"]["map_d"]["probe_accuracy"],
                      "epochs": int(len(dyn["loss"]))}
        st.artifacts["map_d"] = str(folder / "map_d.npz")
        run.log(f"audit: MAP-D over {n:,} training examples ({acfg.dynamics_model}, "
                f"{len(dyn['loss'])} epochs); probes recovered {st.metrics['probe_accuracy']:.0%}")
    run.stage("audit:dynamics", work)


def stage_clean_test(run: Run) -> None:
    """Every classifier's test metrics on the test rows without a near-duplicate in train,
    from its saved test probabilities (no new pass over test)."""
    audit = run.record.data.get("audit")
    if not audit:
        return

    def work(st: StageResult) -> None:
        test = run.splits.test
        mask = clean_test_mask(audit, len(test))
        ecfg, out = run.cfg.evaluate, {}
        for m in run.record.models:
            path = Path(m.checkpoint).parent / "test_proba.npy" if m.checkpoint else None
            if path is None or not path.exists():
                continue
            proba = np.load(path)
            if len(proba) != len(test):
                continue
            pos = {lab: i for i, lab in enumerate(m.labels)}
            true = np.array([pos[lab] for lab in test["label"]])
            out[m.name] = bootstrap_scores(true[mask], proba[mask].argmax(1), len(m.labels),
                                           n_samples=ecfg.bootstrap_samples,
                                           confidence=ecfg.confidence, seed=run.cfg.seed,
                                           labels=list(m.labels))
        audit["clean_test"] = {"examples": int(mask.sum()), "removed": int((~mask).sum()),
                               "models": out}
        st.metrics = {"clean_test_examples": int(mask.sum()), "removed": int((~mask).sum())}
    run.stage("audit:clean_test", work)
