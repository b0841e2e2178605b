"""The stage ``data:subset`` of classification: training on less data.

After the audit's probe training (``audit:dynamics``), the training split is cut to
``train.data_fraction`` of each class, ranked by ``train.data_ranking``
(:mod:`greennlp.data.subsets`); search trials, final models and seeds all train on the
kept examples, and are scored on the same dev and test. The probe training is what the
ranking cost: its measured cost is recorded beside the kept share (``record.data
["train_subset"]``), so the report sets it against the training it saved.
"""

from __future__ import annotations

import numpy as np

from greennlp.data import Splits
from greennlp.data.subsets import importance, kept_indices
from greennlp.record import StageResult
from greennlp.run import Run
from greennlp.train.dynamics import load_dynamics

COSTS = ("duration_s", "cpu_time_s", "energy_kwh", "co2_kg", "cost_usd")
PROBE_STAGE = "audit:dynamics"


def _keep(run: Run, kept: np.ndarray) -> None:
    s = run.splits
    run.splits = Splits(s.train.iloc[kept].reset_index(drop=True), s.dev, s.test, s.info)


def _scores(run: Run) -> np.ndarray:
    tcfg, n = run.cfg.train, len(run.splits.train)
    if tcfg.data_ranking == "random":
        return importance("random", n, run.cfg.seed)
    folder = run.run_dir / "audit" / run.cfg.audit.dynamics_model
    dyn = load_dynamics(folder / "dynamics.npz")
    with np.load(folder / "map_d.npz", allow_pickle=False) as blob:
        category, noise = blob["category"], blob["noise_score"]
    return importance(tcfg.data_ranking, n, run.cfg.seed, dyn, category, noise)


def stage_subset(run: Run) -> None:
    """Keep ``train.data_fraction`` of the training split (nothing to do at 1)."""
    tcfg = run.cfg.train
    if tcfg.data_fraction >= 1.0:
        return
    path = run.run_dir / "data" / "train_subset.npy"

    def work(st: StageResult) -> None:
        labels = run.splits.train["label"].astype(str).tolist()
        kept = kept_indices(_scores(run), labels, tcfg.data_fraction, run.cfg.seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, kept)
        probe = run.record.stage(PROBE_STAGE) if tcfg.data_ranking != "random" else None
        run.record.data["train_subset"] = {
            "fraction": tcfg.data_fraction, "ranking": tcfg.data_ranking,
            "kept": int(len(kept)), "of": len(labels),
            "probe_stage": PROBE_STAGE if probe else None,
            "ranking_cost": {k: getattr(probe, k, None) for k in COSTS} if probe else
            dict.fromkeys(COSTS, 0.0)}
        _keep(run, kept)
        st.metrics = {"kept": int(len(kept)), "of": len(labels)}
        st.artifacts["kept"] = str(path)
        run.log(f"training on {len(kept):,} of {len(labels):,} examples "
                f"({tcfg.data_fraction:.0%} of each class, ranking {tcfg.data_ranking})")
    run.stage("data:subset", work, reload=lambda st: _keep(run, np.load(path)))
