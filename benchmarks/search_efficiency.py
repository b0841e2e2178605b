"""ASHA against full random search, same trials, side by side in one run.

On the default dataset (Rotten Tomatoes, split by movie), the transformer family's
search space is sampled once; the same trials are run (1) to the full budget each
(random search) and (2) under ASHA. Reported: the best dev accuracy each finds (target:
ASHA within 0.5 points), the energy and time each uses (target: ASHA at most 40% of full
search), and ASHA's own in-run estimate of what it saved, checked against the real cost
of the full search.

Run: ``python benchmarks/search_efficiency.py [--trials 9] [--max-epochs 6]``
(about 15-20 minutes on a 2-core CPU).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile

from greennlp import tasks
from greennlp.search.stages import stage_search
from greennlp.tasks.classification_stages import stage_data


def run_search(method: str, args, out: str) -> dict:
    cfg = tasks.load_config(None, [
        f"output_dir={out}", "models=[transformer]", "search.enabled=true",
        f"search.method={method}", "search.families.tfidf_logreg=null",
        f"search.families.transformer.trials={args.trials}",
        f"search.families.transformer.max_epochs={args.max_epochs}",
        f"search.asha.reduction_factor={args.eta}", f"seed={args.seed}"])
    run = tasks.start(cfg, command=f"benchmark search {method}", log=lambda m: None)
    stage_data(run)
    stage_search(run)
    state = run.record.search["transformer"]
    run.record.status = "completed"
    run.persist()
    return {"best_dev_accuracy": state.best_score, "best_trial": state.best_trial,
            "epochs_trained": sum(t.epochs_done for t in state.trials),
            "energy_kwh": state.totals["energy_kwh"], "duration_s": state.totals["duration_s"],
            "estimated_saving": dataclasses.asdict(state.early_stopping_saved),
            "run_id": run.record.run_id}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=9)
    parser.add_argument("--max-epochs", type=int, default=6)
    parser.add_argument("--eta", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default=None)
    args = parser.parse_args()
    out = args.output_dir or tempfile.mkdtemp(prefix="greennlp-bench-")
    asha = run_search("asha", args, out)
    full = run_search("random", args, out)
    result = {"asha": asha, "full_random": full,
              "best_gap_points": 100 * (full["best_dev_accuracy"] - asha["best_dev_accuracy"]),
              "energy_ratio": asha["energy_kwh"] / full["energy_kwh"],
              "time_ratio": asha["duration_s"] / full["duration_s"],
              "saving_estimate_vs_actual": asha["estimated_saving"]["energy_kwh"]
              / (full["energy_kwh"] - asha["energy_kwh"])}
    print(json.dumps(result, indent=2))
    print(f"\nbest dev accuracy: ASHA {asha['best_dev_accuracy']:.4f}, full random "
          f"{full['best_dev_accuracy']:.4f} (gap {result['best_gap_points']:+.2f} points; target "
          f"within 0.5)")
    print(f"energy: ASHA / full = {result['energy_ratio']:.2f} (target <= 0.40); time: "
          f"{result['time_ratio']:.2f}; epochs trained {asha['epochs_trained']} vs "
          f"{full['epochs_trained']}")
    print(f"ASHA's in-run estimate of its saving / the actual difference: "
          f"{result['saving_estimate_vs_actual']:.2f}")


if __name__ == "__main__":
    main()
