"""Finding flipped labels, side by side: MAP-D, cleanlab and final-epoch loss ranking.

The default dataset (Rotten Tomatoes, split by movie as ``greennlp run`` does) with
``--noise`` (10%) of the training labels flipped at random (seeded). Detectors:

- ``map_d``: the audit's probe training (:func:`greennlp.train.probe_training.fit_with_probes`;
  ``audit.dynamics_model``, by default the small 1-layer encoder of the audit settings,
  e.g. ``audit.dynamics_model=minilm audit.dynamics_lr=5e-5`` for the pretrained MiniLM)
  on the noisy training set; flagged = examples whose nearest probe trajectories are
  mostly random-label probes;
- ``loss_rank``: the same run's final-epoch loss; flagged = the highest ``--noise`` share
  (this detector is told the noise rate, the others are not);
- ``cleanlab_tfidf`` / ``cleanlab_transformer``: ``cleanlab.filter.find_label_issues``
  on ``--folds``-fold cross-validated probabilities of TF-IDF + logistic regression and
  of the small encoder with the default audit settings; ``cleanlab_<model>`` also for
  MAP-D's model when it is another family (trained with its own settings).

For each: precision, recall and F1 against the flipped set. Then TF-IDF + logistic
regression (the default run's first model) is retrained on the noisy set without each
detector's flagged examples; the share of the accuracy lost to the noise that comes back
is ``(removed - noisy) / (clean - noisy)`` on the test split. The overhead of recording
training dynamics is measured inside the probe training (time spent in the recorder
against the training time).

Run: ``python benchmarks/label_noise.py [--max-examples 4000] [audit.dynamics_epochs=8]`` (the default uses all
training examples; a few minutes on two quiet cores).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from greennlp.config import AuditConfig, DataConfig, parse_config, section as config_section
from greennlp.data import prepare
from greennlp.data.split import Splits, subsample
from greennlp.evaluate import map_d
from greennlp.models import family
from greennlp.train import dynamics
from greennlp.train.classifiers import fit_family
from greennlp.train.probe_training import fit_with_probes, probe_section


def flip(train: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(train), size=int(round(share * len(train))), replace=False)
    labels = sorted(train["label"].unique())
    noisy = train.copy()
    noisy.loc[idx, "label"] = [rng.choice([c for c in labels if c != lab])
                               for lab in train["label"].to_numpy()[idx]]
    mask = np.zeros(len(train), dtype=bool)
    mask[idx] = True
    return noisy, mask


def prf(flagged: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    tp = int((flagged & truth).sum())
    p = tp / flagged.sum() if flagged.sum() else 0.0
    r = tp / truth.sum() if truth.sum() else 0.0
    return {"flagged": int(flagged.sum()), "precision": round(p, 4), "recall": round(r, 4),
            "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0}


def tfidf_accuracy(cfg, train: pd.DataFrame, splits: Splits) -> float:
    s = Splits(train.reset_index(drop=True), splits.dev, splits.test)
    model, _ = fit_family("tfidf_logreg", cfg.tfidf, s, 0, Path(tempfile.mkdtemp()))
    pred = np.asarray(model.labels)[model.predict_proba(splits.test["text"].tolist(), 64).argmax(1)]
    return float(np.mean(pred == splits.test["label"].to_numpy()))


def cv_proba(fit_predict, train: pd.DataFrame, folds: int, seed: int) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold

    labels = sorted(train["label"].unique())
    out = np.zeros((len(train), len(labels)))
    for rest, held in StratifiedKFold(folds, shuffle=True, random_state=seed).split(
            train, train["label"]):
        out[held] = fit_predict(train.iloc[rest].reset_index(drop=True),
                                train.iloc[held].reset_index(drop=True))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--noise", type=float, default=0.10)
    ap.add_argument("--max-examples", type=int, default=None)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("overrides", nargs="*", help="config key=value, e.g. audit.dynamics_epochs=8")
    args = ap.parse_args()
    from cleanlab.filter import find_label_issues

    t_start = time.perf_counter()
    cfg = parse_config(None, args.overrides)
    splits, _ = prepare(DataConfig(), args.seed)
    train = subsample(splits.train, args.max_examples, args.seed).reset_index(drop=True)
    splits = Splits(train, splits.dev, splits.test, splits.info)
    noisy, truth = flip(train, args.noise, args.seed)
    labels = sorted(train["label"].unique())
    y = np.array([labels.index(v) for v in noisy["label"]])
    out: dict = {"train_examples": len(train), "flipped": int(truth.sum()), "test_examples":
                 len(splits.test), "audit_settings": {k: getattr(cfg.audit, k) for k in (
                     "dynamics_model", "dynamics_width", "dynamics_epochs", "dynamics_lr",
                     "probe_size", "knn")}}

    # MAP-D and loss ranking: one probe training, with the recorder's time measured
    spent = {"s": 0.0}
    observe = dynamics.DynamicsRecorder.observe

    def timed(self, *a):
        t = time.perf_counter()
        observe(self, *a)
        spent["s"] += time.perf_counter() - t
    dynamics.DynamicsRecorder.observe = timed
    t0 = time.perf_counter()
    dyn_model = cfg.audit.dynamics_model
    dyn_section = probe_section(config_section(cfg, family(dyn_model).section), cfg.audit)
    frame, suites, dyn, info = fit_with_probes(
        dyn_model, dyn_section, splits, cfg.audit.probe_size, cfg.audit.dynamics_epochs,
        args.seed, Path(tempfile.mkdtemp()), train=noisy)
    train_s = sum(h["duration_s"] for h in info["history"])
    dynamics.DynamicsRecorder.observe = observe
    n = len(noisy)
    found = map_d.scores(dyn["loss"], suites, cfg.audit.knn)
    detectors = {"map_d": found["category"][:n] == "random_labels"}
    last = dyn["loss"][-1, :n]
    k = int(round(args.noise * n))
    detectors["loss_rank"] = np.isin(np.arange(n), np.argsort(-last)[:k])
    out["map_d_seconds"] = round(time.perf_counter() - t0, 1)
    out["dynamics_overhead"] = {"recorder_s": round(spent["s"], 3),
                                "training_s": round(train_s, 1),
                                "share": round(spent["s"] / train_s, 4)}

    # cleanlab on cross-validated probabilities: TF-IDF, the small encoder with the default
    # audit settings (whatever audit.* says for MAP-D), and MAP-D's model when it is another
    # family, trained with its own settings
    section = probe_section(cfg.transformer, AuditConfig())
    def tfidf_fp(tr, held):
        s = Splits(tr, splits.dev, splits.test)
        m, _ = fit_family("tfidf_logreg", cfg.tfidf, s, args.seed, Path(tempfile.mkdtemp()))
        return m.predict_proba(held["text"].tolist(), 64)

    def encoder_fp(tr, held):
        s = Splits(tr, splits.dev, splits.test)
        m, _ = fit_family("transformer", section, s, args.seed, Path(tempfile.mkdtemp()),
                          desc="cv fold")
        return m.predict_proba(held["text"].tolist(), 64)

    def dyn_model_fp(tr, held):
        s = Splits(tr, splits.dev, splits.test)
        m, _ = fit_family(dyn_model, config_section(cfg, family(dyn_model).section), s, args.seed,
                          Path(tempfile.mkdtemp()), desc="cv fold")
        return m.predict_proba(held["text"].tolist(), 64)

    cleanlab_runs = [("cleanlab_tfidf", tfidf_fp), ("cleanlab_transformer", encoder_fp)]
    if dyn_model != "transformer":
        cleanlab_runs.append((f"cleanlab_{dyn_model}", dyn_model_fp))
    for name, fp in cleanlab_runs:
        t0 = time.perf_counter()
        proba = cv_proba(fp, noisy, args.folds, args.seed)
        detectors[name] = find_label_issues(y, proba)
        out[f"{name}_seconds"] = round(time.perf_counter() - t0, 1)

    clean_acc = tfidf_accuracy(cfg, train, splits)
    noisy_acc = tfidf_accuracy(cfg, noisy, splits)
    out["tfidf_test_accuracy"] = {"clean_labels": round(clean_acc, 4), "noisy": round(noisy_acc, 4)}
    out["detectors"] = {}
    for name, flagged in detectors.items():
        acc = tfidf_accuracy(cfg, noisy[~flagged], splits)
        lost = clean_acc - noisy_acc
        out["detectors"][name] = {**prf(flagged, truth), "test_accuracy_after_removal": round(acc, 4),
                                  "recovered_share_of_lost_accuracy":
                                      round((acc - noisy_acc) / lost, 3) if lost > 0 else None}
    out["total_seconds"] = round(time.perf_counter() - t_start, 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
