"""What each piece of the frontier recipe does to a structurally pruned student's dev score:
the intermediate losses (hidden states, attention), the augmentation (in-domain text, word
replacement), the layer choice and vocabulary trimming, one at a time from a base recipe.

Every student is pruned from the run's fine-tuned reference to the same shape, with the
same importance scores, and distilled with the same training settings; only dev is
looked at (the test split is never loaded here).

Run: ``python benchmarks/frontier_ablation.py RUN_ID [--shape 3,6,384] [--epochs 3]
[--only base,hidden,...]``; results go to ``benchmarks/frontier_ablation.json`` in the run
folder, one row per recipe, as they finish.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

RECIPES = {  # name -> changes to the base recipe (logits only, no augmentation)
    "base": {},
    "hidden": {"losses": ("hidden",)},
    "hidden+attention": {"losses": ("hidden", "attention")},
    "in_domain": {"augment": ("in_domain",)},
    "replace": {"augment": ("replace",)},
    "hidden+in_domain+replace": {"losses": ("hidden",), "augment": ("in_domain", "replace")},
    "even_layers": {"layer_choice": "even"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_id")
    parser.add_argument("--output-dir", default="runs")
    parser.add_argument("--shape", default="3,6,384", help="layers,heads,ffn (0: all)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated recipes (default: all)")
    args = parser.parse_args()

    import pandas as pd

    from greennlp import store
    from greennlp.compress.base import Context
    from greennlp.compress.frontier import dev_score
    from greennlp.compress.frontier_stage import in_domain_documents
    from greennlp.compress.structured import Shape
    from greennlp.compress.student import StructuredPruner, augmented_texts
    from greennlp.config import RunConfig, from_dict
    from greennlp.data import Splits
    from greennlp.models import load_model
    from greennlp.record import RunRecord

    folder = store.find_run_dir(args.output_dir, args.run_id)
    if folder is None:
        sys.exit(f"No run '{args.run_id}' under {args.output_dir}.")
    record = RunRecord.load(folder)
    splits = Splits.load(Path(folder) / "data", record.data["split"])
    splits = Splits(splits.train, splits.dev, splits.dev.iloc[:0], splits.info)  # dev only
    ref = record.compression.reference or "minilm"
    teacher = load_model(record.model(ref).checkpoint)
    cfg = from_dict(RunConfig, record.config)
    base = dataclasses.replace(cfg.compress.frontier, losses=(), augment=(),
                               train=dataclasses.replace(cfg.compress.frontier.train,
                                                         epochs=args.epochs))
    layers, heads, ffn = (int(x) or None for x in args.shape.split(","))
    shape = Shape(layers, heads, ffn)

    class RunLike:  # what in_domain_documents reads
        pass
    run = RunLike()
    run.splits, run.cfg = splits, cfg
    docs, _ = in_domain_documents(run)
    ctx = Context(splits, cfg.seed, Path(folder) / "benchmarks" / "ablation-work", print,
                  unlabelled=docs)
    metric = record.selection_metric
    out = Path(folder) / "benchmarks" / "frontier_ablation.json"
    out.parent.mkdir(exist_ok=True)
    rows = json.loads(out.read_text()) if out.exists() else {}
    scores = StructuredPruner(shape, base).scores(teacher, ctx)
    wanted = [r for r in RECIPES if not args.only or r in args.only.split(",")]
    for name in wanted:
        settings = dataclasses.replace(base, **RECIPES[name])
        t0 = time.perf_counter()
        extra = augmented_texts(teacher, ctx, settings.augment, settings.replace_copies,
                                settings.max_augmented)
        pruner = StructuredPruner(shape, settings)
        student = pruner.compress(teacher, ctx, scores, extra)
        facts = pruner.describe()
        rows[name] = {"shape": shape.label, "metric": metric,
                      "dev_score": dev_score(student, ctx, metric),
                      "reference_dev_score": dev_score(teacher, ctx, metric),
                      "dev_score_before_distillation": facts["dev_accuracy_before_distillation"],
                      "augmented_texts": facts["augmented_texts"], "epochs": args.epochs,
                      "seconds": time.perf_counter() - t0, "load_average": os.getloadavg(),
                      "vocabulary": facts.get("vocabulary")}
        print(name, json.dumps(rows[name]), flush=True)
        out.write_text(json.dumps(rows, indent=1, default=str))
    table = pd.DataFrame(rows).T[["dev_score", "reference_dev_score", "seconds"]]
    table["drop_points"] = 100 * (table["reference_dev_score"] - table["dev_score"])
    print(table.astype(float).round(4).to_string())


if __name__ == "__main__":
    main()
