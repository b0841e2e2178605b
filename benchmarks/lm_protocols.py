"""The language models of a finished LM run, scored on the same test text both ways.

Each document alone from an empty context (``lm.evaluation.protocol=documents``) against
the documents as running text with a sliding window (``stream``, the default), on the
start of the test text that SmolLM2 is scored on (every model) and on the whole test
split (the models that are fast enough). Bits per character with 95% bootstrap
intervals (over documents, or blocks of text for the stream). Prints a Markdown table.
When the run itself scored as running text, those numbers are read from its record
(the same computation) and only the documents-alone scores are computed here.

Run: ``python benchmarks/lm_protocols.py RUN_ID [--output-dir runs] [--whole]``
"""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace

from greennlp.config import config_from_record
from greennlp.data import Splits
from greennlp.evaluate.lm_eval import evaluate_lm, leading_index
from greennlp.models import family, load_model
from greennlp.models.checkpoints import load_weights
from greennlp.run import find_record


def _model(m):
    if m.family != "smollm2":
        return load_model(m.checkpoint)
    model = family("smollm2").build()
    if m.training.steps:  # the adapted model: its fine-tuned weights
        load_weights(model.module, Path(m.checkpoint))
        model.module.eval()
    return model


def _fmt(m: dict) -> str:
    return f"{m['value']:.3f} [{m['low']:.3f}, {m['high']:.3f}]"


def _bpc(model, texts, cfg, protocol, recorded: dict | None = None) -> str:
    if recorded and protocol.protocol == "stream":
        return _fmt(recorded)
    res = evaluate_lm(model, [], texts, [], cfg.evaluate, cfg.seed, test_is_subsample=True,
                      protocol=protocol)
    return _fmt(res["test"]["bits_per_char"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_id")
    parser.add_argument("--output-dir", default="runs")
    parser.add_argument("--whole", action="store_true", help="also the whole test split "
                        "(models other than SmolLM2)")
    args = parser.parse_args()
    record = find_record(args.run_id, args.output_dir)
    cfg = config_from_record(record.config)
    test = Splits.load(Path(record.run_dir) / "data", record.data.get("split", {})).texts("test")
    ev = cfg.lm.evaluation
    start = [test[i] for i in leading_index(test, ev.smollm2_chars)]
    alone = SimpleNamespace(protocol="documents")
    print(f"Run {record.run_id}: {record.data.get('source')}; start of test: {len(start)} "
          f"documents, {sum(len(t) + 1 for t in start):,} characters; window {ev.window}, "
          f"stride {ev.stride} (capped at a model's context)\n")
    header = "| model | tokenizer | start: alone | start: running text |"
    if args.whole:
        header += " whole test: alone | whole test: running text |"
    print(header)
    print("|" + "---|" * header.count(" | ") + "---|")
    for m in record.models:
        if "masked" in str(m.test):
            continue
        model = _model(m)
        ran_stream = (m.efficiency.get("scoring") or {}).get("protocol") == "stream"
        sub, whole = ((m.test.get("subsample_bits_per_char"), m.test.get("bits_per_char"))
                      if ran_stream else (None, None))
        cells = [_bpc(model, start, cfg, alone), _bpc(model, start, cfg, ev, sub)]
        if args.whole and m.family != "smollm2":
            cells += [_bpc(model, test, cfg, alone), _bpc(model, test, cfg, ev, whole)]
        elif args.whole:
            cells += ["-", "-"]
        print(f"| {m.name} | {m.efficiency.get('tokenizer', '-')} | " + " | ".join(cells) + " |",
              flush=True)


if __name__ == "__main__":
    main()
