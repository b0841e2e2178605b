"""What the beyond-accuracy analyses add to a run's wall time, read from its record.

Target: at most +10% of the default run's wall time. The analyses are the ``baselines``
stage and one ``analyze:<model>`` stage per model and variant (calibration, selective
prediction, slices and fairness from saved probabilities; robustness re-predicts
``evaluate.robustness_examples`` perturbed test inputs per model). The share is their
wall (and CPU) time over the sum of the other stages; the report stage's figures for them
are timed here by rendering the section again.

Run: ``python benchmarks/beyond_accuracy_cost.py RUN_ID [--output-dir runs]``.
"""

from __future__ import annotations

import argparse
import time

from greennlp.run import find_record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_id")
    parser.add_argument("--output-dir", default="runs")
    args = parser.parse_args()
    record = find_record(args.run_id, args.output_dir)
    ours = [s for s in record.stages if s.name == "baselines" or s.name.startswith("analyze:")]
    rest = [s for s in record.stages if s not in ours]
    from greennlp.report import plots  # noqa: F401  (matplotlib: the report imports it anyway)
    from greennlp.report.analysis_views import html

    t0 = time.perf_counter()
    html(record)
    render_s = time.perf_counter() - t0
    wall = sum(s.duration_s for s in ours) + render_s
    base = sum(s.duration_s for s in rest) - render_s
    cpu, base_cpu = sum(s.cpu_time_s for s in ours), sum(s.cpu_time_s for s in rest)
    for s in ours:
        print(f"{s.name:45s} {s.duration_s:8.2f} s wall {s.cpu_time_s:8.2f} s CPU")
    print(f"{'report section (rendered again here)':45s} {render_s:8.2f} s wall")
    print(f"beyond accuracy: {wall:.1f} s of {base:.1f} s without it: +{100 * wall / base:.1f}% "
          f"wall time; CPU +{100 * cpu / base_cpu:.1f}% (target: at most +10%)")


if __name__ == "__main__":
    main()
