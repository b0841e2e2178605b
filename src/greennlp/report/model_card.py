"""MODEL_CARD.md: Mitchell et al. (2019) sections with Hugging Face front matter.

The card describes the model selected on dev accuracy and lists every model trained in
the run. The front matter carries ``model-index`` (test results) and
``co2_eq_emissions`` (grams, from the training stage, with how it was obtained).
"""

from __future__ import annotations

import yaml

from greennlp.record import ModelResult, RunRecord
from greennlp.report.compression_views import card_section
from greennlp.report.analysis_views import card_caveats, card_factors
from greennlp.report.views import (baseline_rows, ci, energy_sources, family_of, fmt, is_estimate,
                                   metric_name, model_costs, model_rows, sanity_warnings,
                                   selection_text)

def front_matter(record: RunRecord, best: ModelResult) -> dict:
    """The YAML header Hugging Face reads (model-index, co2_eq_emissions)."""
    dataset = record.data.get("source", "unknown")
    costs, fam = model_costs(record, best), family_of(best)
    metrics = [{"type": "accuracy", "value": round(best.test["accuracy"]["value"], 4),
                "name": "Test accuracy"}]
    if "macro_f1" in best.test:
        metrics.append({"type": "f1", "value": round(best.test["macro_f1"]["value"], 4),
                        "name": "Test macro F1", "args": {"average": "macro"}})
    header = {
        "language": ["en"],
        "library_name": fam.library if fam else "greennlp",
        "tags": ["text-classification", "greennlp"],
        "datasets": [dataset],
        "metrics": ["accuracy", "f1"],
        "model-index": [{"name": f"greennlp-{record.run_id}-{best.name}", "results": [{
            "task": {"type": "text-classification", "name": "Text Classification"},
            "dataset": {"name": dataset, "type": dataset, "split": "test"},
            "metrics": metrics}]}],
    }
    if costs["train_co2_kg"] is not None:
        header["co2_eq_emissions"] = {
            "emissions": round(costs["train_co2_kg"] * 1000, 6),
            "source": ("greennlp " + ("estimate" if is_estimate(record) else "measurement") +
                       "; " + record.footprint.get("carbon_intensity_source", "")),
            "training_type": fam.card_training_type if fam else "pre-training",
            "geographical_location": record.config.get("measure", {}).get("region", "world"),
            "hardware_used": f"{record.hardware.get('usable_cpus')} x {record.hardware.get('model')} "
                             f"CPU threads" + "".join(f", {g['name']}" for g in
                                                      record.hardware.get("gpus", [])),
        }
    return header


def _variance_caveat(record: RunRecord, best: ModelResult) -> str:
    runs = record.seed_runs.get(best.name)
    test = runs.summary.get("test_accuracy") if runs else None
    if test and test.n > 1:
        return (f"Retrained with {test.n} seeds, test accuracy was {test.mean:.3f} +/- "
                f"{test.std:.3f} (min {test.min:.3f}, max {test.max:.3f}); the score "
                f"above is the seed selected with the model.")
    return "The scores come from a single training run; seed variance was not measured."


def _search_line(record: RunRecord, best: ModelResult) -> str:
    state = record.searched(best.name)
    if state is None:
        return "- Hyperparameters: the configured values (no search)."
    return (f"- Hyperparameters: best of {len(state.trials)} {state.method} search trials "
            f"on dev accuracy: {state.best_params}.")


def _table(record: RunRecord) -> list[str]:
    lines = ["| model | parameters | FLOPs / example | dev accuracy | test accuracy (95% CI) | "
             "test macro F1 | latency b=1 (ms) | throughput b=32 (/s) | size (MB) | "
             "training energy (kWh) |", "|" + "---|" * 10]
    for r in model_rows(record) + baseline_rows(record):
        lines.append(f"| {r['name']} | {fmt(r['params'])} | {fmt(r['flops'])} | "
                     f"{ci(r['dev_accuracy'])} | {ci(r['test_accuracy'])} | "
                     f"{ci(r['test_macro_f1'])} | {fmt(r['latency_ms'])} | {fmt(r['throughput'])} "
                     f"| {fmt(r['size_mb'])} | {fmt(r['train_energy_kwh'])} |")
    return lines


def render(record: RunRecord) -> str:
    """MODEL_CARD.md text of a classification run."""
    best = record.best_model()
    if best is None:
        return f"# Model card\n\nRun {record.run_id} produced no evaluated model.\n"
    data, split = record.data, record.data.get("split", {})
    labels = ", ".join(best.labels)
    per_class = [f"- {k}: {ci(v)}" for k, v in best.test.items()
                 if k.split("_", 1)[0] in ("precision", "recall", "f1") and not k.startswith("macro")]
    body = [
        f"# Model card: {best.name} (greennlp run {record.run_id})", "",
        "## Model details",
        f"- Family: {best.family}; {fmt(best.params_total)} parameters "
        f"({fmt(best.params_non_embedding)} non-embedding); {fmt(best.flops_per_example)} "
        f"FLOPs per example ({best.flops_note}).",
        f"- Trained by greennlp {record.software.get('greennlp', '?')} on {record.created_at}; "
        f"selected among {len(record.models)} models by dev "
        f"{metric_name(record.selection_metric)}. {selection_text(record)}",
        _search_line(record, best),
        f"- Checkpoint: `{best.checkpoint}`.", "",
        "## Intended use",
        f"- Task: {data.get('task', 'text classification')} into: {labels}.",
        "- Intended for research and as a baseline for comparison; not for decisions about "
        "people. Out of scope: text unlike the training data (other domains, languages, "
        "much longer documents).", "",
        "## Factors",
        *card_factors(record, best), "",
        "## Metrics",
        f"- Accuracy and per-class / macro precision, recall and F1 on the held-out test set, "
        f"with {int(record.config.get('evaluate', {}).get('confidence', 0.95) * 100)}% "
        f"percentile bootstrap intervals "
        f"({record.config.get('evaluate', {}).get('bootstrap_samples')} resamples).",
        f"- Test was evaluated once per final model ({record.test_evaluations} test "
        f"evaluations in this run); model selection used dev only.", "",
        "## Evaluation data",
        f"- {split.get('sizes', {}).get('test')} test examples from {data.get('origin', '?')}, "
        f"split by {split.get('method')} (seed {split.get('seed')}). See DATASHEET.md.", "",
        "## Training data",
        f"- {split.get('sizes', {}).get('train')} training examples and "
        f"{split.get('sizes', {}).get('dev')} dev examples from the same source.", "",
        "## Quantitative analyses",
        f"- Test accuracy {ci(best.test.get('accuracy'))}; macro F1 {ci(best.test.get('macro_f1'))}.",
        *per_class, "", *_table(record), "",
        *environmental_impact(record, best),
        *card_section(record),
        "## Ethical considerations",
        "- The training texts are critic reviews (or the user's data); the model can reproduce "
        "their biases. " + ("Group differences over the sensitive columns are under Factors."
                            if best.analysis.get("fairness") else
                            "It has not been audited for performance across demographic groups "
                            "(name them with evaluate.sensitive_columns)."), "",
        "## Caveats and recommendations",
        *[f"- **{w}**" for w in sanity_warnings(record)],
        f"- {_variance_caveat(record, best)} Energy figures on machines without RAPL/NVML are "
        "estimates.",
        *card_caveats(record, best),
    ]
    return with_front_matter(front_matter(record, best), body)


def environmental_impact(record: RunRecord, model: ModelResult) -> list[str]:
    """The card's "Environmental impact" section: training cost and how it was obtained."""
    costs = model_costs(record, model)
    est = "estimated" if is_estimate(record) else "measured"
    fp = record.footprint
    return [
        "## Environmental impact",
        f"- Training: {fmt(costs['train_duration_s'])} s, {fmt(costs['train_energy_kwh'])} kWh "
        f"({est}), {fmt(costs['train_co2_kg'])} kg CO2e, ${fmt(costs['train_cost_usd'])}.",
        f"- Carbon intensity {fp.get('carbon_intensity_g_per_kwh')} g/kWh "
        f"({fp.get('carbon_intensity_source')}); PUE {fp.get('pue')}; "
        f"price {fp.get('price_per_hour_usd')} $/h ({fp.get('price_source')}).",
        *[f"- Energy, {k}: {v}" for k, v in energy_sources(record).items()], ""]


def with_front_matter(header: dict, body: list[str]) -> str:
    """YAML front matter between ``---`` lines, then the body."""
    text = yaml.safe_dump(header, sort_keys=False, allow_unicode=True)
    return f"---\n{text}---\n\n" + "\n".join(body) + "\n"
