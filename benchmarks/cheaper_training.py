"""Cheaper training, side by side: early-stopped seeds and training on less data.

The default data (Rotten Tomatoes, split as ``greennlp run`` splits it) and the default
run's small transformer (2 layers, 128 wide, from scratch; ``--epochs`` epochs, the
min_steps floor off as in search trials).

(a) Seeds (Dodge et al. 2020). ``--seeds`` seeds each train ``--score-after`` epoch(s)
(measured; a fraction pauses inside an epoch), are scored on dev, and the best ``--keep``
continue from their checkpoint to the end (measured); then the other seeds continue too
(measured), which gives the all-to-the-end strategy with the same trajectories (pausing
and resuming equals one uninterrupted run: :func:`greennlp.train.loop.train`). Costs:
early-stopped = every seed's first stretch + the kept seeds' continuations;
all-to-the-end = every stretch.
Expected max dev accuracy of N seeds: a paired bootstrap over seeds (resample N seeds
with their early and final dev scores, apply each strategy, take the best final dev).

(b) Less data. The audit's probe training (1-layer 64-wide encoder, 4 epochs, one
thread, on train + MAP-D probes; measured) scores every training example; for each
fraction and ranking (random with ``--random-seeds`` seeds) TF-IDF + logistic
regression is trained on the kept examples (and, with ``--transformer-fractions``, the
small transformer too) and scored once on test with a bootstrap interval. A ranked
subset's cost includes the probe training.

Cost: process CPU seconds (measured) and energy (an estimate here: TDP x CPU load, see
docs/measurement.md). Run: ``python benchmarks/cheaper_training.py --out results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from greennlp.config import parse_config
from greennlp.data import prepare
from greennlp.data.split import Splits
from greennlp.data.subsets import importance, kept_indices
from greennlp.evaluate import map_d
from greennlp.evaluate.bootstrap import bootstrap_scores
from greennlp.evaluate.evp import expected_max
from greennlp.measure import Footprint, track
from greennlp.train.classifiers import fit_family
from greennlp.train.probe_training import fit_with_probes, probe_section

RANKINGS = ("random", "el2n", "forgetting", "map_d")


def measured(fn):
    """Run ``fn()`` inside ``track``: (its result, CPU seconds, energy kWh, wall seconds)."""
    with track("bench", None, FOOTPRINT) as st:
        out = fn()
    return out, st.cpu_time_s, st.energy_kwh, st.duration_s


def test_scores(model, splits: Splits) -> dict:
    proba = model.predict_proba(splits.test["text"].tolist(), 64)
    pos = {lab: i for i, lab in enumerate(model.labels)}
    true = np.array([pos[y] for y in splits.test["label"]])
    acc = bootstrap_scores(true, proba.argmax(1), len(model.labels), n_samples=1000)["accuracy"]
    return {k: round(v, 4) for k, v in acc.items()}


def seeds_part(args, cfg, splits: Splits, work: Path) -> dict:
    section = replace(cfg.transformer, train=replace(cfg.transformer.train, epochs=args.epochs,
                                                     min_steps=0))
    seeds = list(range(args.seeds))
    rows = {s: {"seed": s} for s in seeds}
    for s in seeds:  # every seed: the first stretch
        (_, info), cpu, kwh, wall = measured(lambda s=s: fit_family(
            "transformer", section, splits, s, work / f"s{s}", until_epoch=args.score_after,
            desc=f"seed {s} early"))
        paused = info.get("paused_dev_accuracy")
        early = info["best_dev_accuracy"] if paused is None else paused
        rows[s].update(early_dev=early, early_cpu_s=cpu, early_kwh=kwh, early_wall_s=wall,
                       early_steps=info["steps"])
        print(f"seed {s}: dev {early:.4f} after {args.score_after:g} epoch(s) "
              f"({info['steps']} steps), {cpu:.0f} CPU s", flush=True)
    ranked = sorted(seeds, key=lambda s: (-rows[s]["early_dev"], s))
    kept = ranked[:args.keep]
    for s in kept + ranked[args.keep:]:  # the kept ones first: the early-stopped strategy ends
        (model, info), cpu, kwh, wall = measured(lambda s=s: fit_family(
            "transformer", section, splits, s, work / f"s{s}", desc=f"seed {s} to the end"))
        rows[s].update(final_dev=info["best_dev_accuracy"], epochs_run=info["epochs_run"],
                       rest_cpu_s=cpu, rest_kwh=kwh, rest_wall_s=wall, kept=s in kept,
                       test=test_scores(model, splits))
        print(f"seed {s}: final dev {info['best_dev_accuracy']:.4f} ({info['epochs_run']} epochs), "
              f"test {rows[s]['test']['value']:.4f}, {cpu:.0f} CPU s", flush=True)
    return summarize_seeds(args, [rows[s] for s in seeds], kept)


def summarize_seeds(args, rows: list[dict], kept: list[int]) -> dict:
    early = np.array([r["early_dev"] for r in rows])
    final = np.array([r["final_dev"] for r in rows])

    def cost(key, strategy):
        return sum(r[f"early_{key}"] + (r[f"rest_{key}"] if strategy == "all" or r["kept"]
                                        else 0.0) for r in rows)

    def best_early(idx):
        top = sorted(idx, key=lambda i: (-early[i], i))[:args.keep]
        return final[top].max()

    rng = np.random.default_rng(0)
    n = len(rows)
    boot = np.array([(final[i].max(), best_early(list(i)), expected_max(final[i], n)[0])
                     for i in (rng.integers(0, n, n) for _ in range(2000))])
    interval = {name: [round(float(np.percentile(boot[:, j], 2.5)), 4),
                       round(float(np.percentile(boot[:, j], 97.5)), 4)]
                for j, name in enumerate(("all", "early_stopped", "evp_all"))}
    diff = boot[:, 0] - boot[:, 1]
    full = [r for r in rows if r["kept"]]
    best_all = max(rows, key=lambda r: (r["final_dev"], -r["seed"]))
    best_kept = max(full, key=lambda r: (r["final_dev"], -r["seed"]))
    return {
        "rows": rows, "kept": kept,
        "best_of_n_dev": {"all": float(final.max()), "early_stopped": float(best_kept["final_dev"])},
        "best_seed_test": {"all": best_all["test"], "early_stopped": best_kept["test"]},
        "expected_max_dev": {"all": round(float(boot[:, 0].mean()), 4),
                             "early_stopped": round(float(boot[:, 1].mean()), 4),
                             "evp_n": round(expected_max(final, n)[0], 4)},
        "bootstrap_95": interval,
        "difference_all_minus_early_95": [round(float(np.percentile(diff, 2.5)), 4),
                                          round(float(np.percentile(diff, 97.5)), 4)],
        "cpu_s": {"all": cost("cpu_s", "all"), "early_stopped": cost("cpu_s", "early")},
        "energy_kwh": {"all": cost("kwh", "all"), "early_stopped": cost("kwh", "early")},
        "wall_s": {"all": cost("wall_s", "all"), "early_stopped": cost("wall_s", "early")},
        "ratio_cpu": cost("cpu_s", "early") / cost("cpu_s", "all"),
        "ratio_energy": cost("kwh", "early") / cost("kwh", "all"),
        "dev_all_mean_sd": [float(final.mean()), float(final.std(ddof=1))],
        "dev_kept_mean_sd": [float(np.mean([r["final_dev"] for r in full])),
                             float(np.std([r["final_dev"] for r in full], ddof=1))],
        "test_all_mean_sd": [float(np.mean([r["test"]["value"] for r in rows])),
                             float(np.std([r["test"]["value"] for r in rows], ddof=1))],
    }


def probe_part(cfg, splits: Splits, work: Path) -> tuple[dict, dict]:
    acfg = cfg.audit
    section = probe_section(cfg.transformer, acfg)
    (frame_suites_dyn_info), cpu, kwh, wall = measured(lambda: fit_with_probes(
        "transformer", section, splits, acfg.probe_size, acfg.dynamics_epochs, cfg.seed,
        work / "probe"))
    _, suites, dyn, _ = frame_suites_dyn_info
    found = map_d.scores(dyn["loss"], suites, acfg.knn)
    return ({"dynamics": dyn, "category": found["category"], "noise": found["noise_score"]},
            {"cpu_s": cpu, "energy_kwh": kwh, "wall_s": wall})


def subset_part(args, cfg, splits: Splits, probe: dict, probe_cost: dict, family: str,
                fractions: list[float], work: Path) -> list[dict]:
    section = cfg.tfidf if family == "tfidf_logreg" else replace(
        cfg.transformer, train=replace(cfg.transformer.train, epochs=args.epochs, min_steps=0))
    labels = splits.train["label"].astype(str).tolist()
    n, out = len(labels), []
    for fraction in fractions:
        for ranking in RANKINGS:
            if fraction >= 1.0 and ranking != "random":
                continue
            for seed in (range(args.random_seeds) if ranking == "random" and family ==
                         "tfidf_logreg" and fraction < 1.0 else [0]):
                scores = importance(ranking, n, seed, probe["dynamics"], probe["category"],
                                    probe["noise"])
                kept = kept_indices(scores, labels, fraction, seed)
                sub = Splits(splits.train.iloc[kept].reset_index(drop=True), splits.dev,
                             splits.test, splits.info)
                folder = Path(tempfile.mkdtemp(dir=work))
                (model, info), cpu, kwh, wall = measured(lambda: fit_family(
                    family, section, sub, seed, folder, desc=f"{family} {fraction} {ranking}"))
                ranked = ranking != "random" and fraction < 1.0
                row = {"family": family, "fraction": fraction, "ranking": ranking, "seed": seed,
                       "kept": int(len(kept)), "dev": round(float(info["best_dev_accuracy"]), 4),
                       "test": test_scores(model, splits), "train_cpu_s": cpu,
                       "train_kwh": kwh,
                       "total_cpu_s": cpu + (probe_cost["cpu_s"] if ranked else 0.0),
                       "total_kwh": kwh + (probe_cost["energy_kwh"] if ranked else 0.0)}
                out.append(row)
                print(json.dumps({k: row[k] for k in ("family", "fraction", "ranking", "seed",
                                                      "dev", "test", "train_cpu_s")}), flush=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--keep", type=int, default=3)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--score-after", type=float, default=1.0,
                   help="epochs before every seed is scored on dev; a fraction pauses "
                        "inside an epoch (0.5 = halfway through the first)")
    p.add_argument("--fractions", default="0.3,0.5,0.7,1.0")
    p.add_argument("--transformer-fractions", default="0.3,0.5,0.7",
                   help="fractions for the small transformer ('' = skip)")
    p.add_argument("--random-seeds", type=int, default=3)
    p.add_argument("--parts", default="subsets,seeds,transformer")
    p.add_argument("--out", default="cheaper_training.json")
    p.add_argument("overrides", nargs="*", help="config overrides, e.g. data.max_examples=3000")
    args = p.parse_args()
    global FOOTPRINT
    cfg = parse_config(None, args.overrides)
    FOOTPRINT = Footprint.from_config(cfg.measure)
    splits, _ = prepare(cfg.data, cfg.seed)
    work = Path(tempfile.mkdtemp(prefix="cheaper_"))
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "load_average_start": os.getloadavg(), "train": len(splits.train),
              "dev": len(splits.dev), "test": len(splits.test), "args": vars(args)}
    out = Path(args.out)

    def save():
        out.write_text(json.dumps(result, indent=1, default=float))

    parts = args.parts.split(",")
    if "subsets" in parts or "transformer" in parts:
        probe, result["probe_cost"] = probe_part(cfg, splits, work)
        print("probe:", result["probe_cost"], flush=True)
    if "subsets" in parts:
        fr = [float(x) for x in args.fractions.split(",")]
        result["subsets_tfidf"] = subset_part(args, cfg, splits, probe, result["probe_cost"],
                                              "tfidf_logreg", fr, work)
        save()
    if "seeds" in parts:
        result["seeds"] = seeds_part(args, cfg, splits, work)
        result["load_average_after_seeds"] = os.getloadavg()
        save()
    if "transformer" in parts and args.transformer_fractions:
        fr = [float(x) for x in args.transformer_fractions.split(",")]
        result["subsets_transformer"] = subset_part(args, cfg, splits, probe,
                                                    result["probe_cost"], "transformer", fr, work)
    result["load_average_end"] = os.getloadavg()
    save()
    print(json.dumps({k: v for k, v in result.get("seeds", {}).items() if k != "rows"},
                     indent=1, default=float))


FOOTPRINT = None

if __name__ == "__main__":
    main()
