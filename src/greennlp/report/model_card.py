"""MODEL_CARD.md: Mitchell et al. (2019) sections with Hugging Face metadata.

The card describes the model selected on dev accuracy and lists every model trained in
the run. Its metadata is built with ``huggingface_hub``'s card classes (``ModelCardData``,
``EvalResult``), so the Hub and ``huggingface_hub.ModelCard.load`` parse it; what the
metadata claims is only what the record shows (:mod:`greennlp.report.card_facts`): a
dataset id only for data from the Hub, the license of the data and base model where
known, ``library_name`` only when the checkpoint opens in that library, and
``co2_eq_emissions`` for the chosen model's final training (the whole run's search and
seed cost is in the text).
"""

from __future__ import annotations

from greennlp.record import ModelResult, RunRecord
from greennlp.report.analysis_views import card_caveats, card_factors
from greennlp.report.audit_views import clean_test_lines
from greennlp.report.card_facts import (base_model, card_license, hub_dataset, library_name,
                                        published_origin, selection_costs)
from greennlp.report.compression_views import card_section
from greennlp.report.markdown import md, md_code
from greennlp.report.views import (baseline_rows, ci, energy_sources, family_of, fmt, is_estimate,
                                   metric_name, model_costs, model_rows, sanity_warnings,
                                   selection_text)


def card_data(record: RunRecord, best: ModelResult):
    """The card's metadata as ``huggingface_hub.ModelCardData`` (model-index, license,
    base model, emissions)."""
    from huggingface_hub import EvalResult, ModelCardData

    dataset, fam = hub_dataset(record), family_of(best)
    results = []
    if dataset is not None:  # model-index needs a Hub dataset id: none for other data
        scores = [("accuracy", "Test accuracy", best.test.get("accuracy"), None),
                  ("f1", "Test macro F1", best.test.get("macro_f1"), {"average": "macro"})]
        results = [EvalResult(task_type="text-classification", task_name="Text Classification",
                              dataset_type=dataset, dataset_name=dataset, dataset_split="test",
                              metric_type=kind, metric_name=name, metric_args=args,
                              metric_value=round(score["value"], 4))
                   for kind, name, score, args in scores if score]
    costs = model_costs(record, best)
    extra = {}
    if costs["train_co2_kg"] is not None:
        extra["co2_eq_emissions"] = {
            "emissions": round(costs["train_co2_kg"] * 1000, 6),
            "source": ("greennlp " + ("estimate" if is_estimate(record) else "measurement") +
                       " of the final training only (search and seeds: see the card's text); " +
                       record.footprint.get("carbon_intensity_source", "")),
            "training_type": fam.card_training_type if fam else "pre-training",
            "geographical_location": record.config.get("measure", {}).get("region", "world"),
            "hardware_used": f"{record.hardware.get('usable_cpus')} x {record.hardware.get('model')} "
                             f"CPU threads" + "".join(f", {g['name']}" for g in
                                                      record.hardware.get("gpus", [])),
        }
    return ModelCardData(
        language=["en"], license=card_license(record, best)["license"],
        library_name=library_name(record, best), base_model=base_model(record, best)["base_model"],
        pipeline_tag="text-classification", tags=["text-classification", "greennlp"],
        datasets=[dataset] if dataset else None, metrics=["accuracy", "f1"],
        model_name=f"greennlp-{record.run_id}-{best.name}", eval_results=results or None,
        **extra)


def front_matter(record: RunRecord, best: ModelResult) -> dict:
    """The card's metadata as a plain mapping (what the YAML header holds)."""
    return card_data(record, best).to_dict()


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
    best = record.select()
    if best is None:
        return f"# Model card\n\nRun {record.run_id} produced no evaluated model.\n"
    data, split = record.data, record.data.get("split", {})
    labels = ", ".join(map(md, best.labels))
    per_class = [f"- {md(k)}: {ci(v)}" for k, v in best.test.items()
                 if k.split("_", 1)[0] in ("precision", "recall", "f1") and not k.startswith("macro")]
    body = [
        f"# Model card: {best.name} (greennlp run {record.run_id})", "",
        "## Model details",
        f"- Family: {best.family}; {fmt(best.params_total)} parameters "
        f"({fmt(best.params_non_embedding)} non-embedding); {fmt(best.flops_per_example)} "
        f"FLOPs per example ({best.flops_note}).",
        f"- Trained by greennlp {record.software.get('greennlp', '?')} on {record.created_at}; "
        f"selected among {len(record.models)} models by dev "
        f"{metric_name(record.selection_metric)}. {md(selection_text(record))}",
        _search_line(record, best),
        f"- Checkpoint: {md_code(run_relative(record, best.checkpoint))} in the run's folder "
        f"(a transformers folder for transformer classifiers; `greennlp export` writes ONNX).",
        "",
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
        f"- {split.get('sizes', {}).get('test')} test examples from {md(published_origin(record))}, "
        f"split by {split.get('method')} (seed {split.get('seed')}). See DATASHEET.md.", "",
        "## Training data",
        f"- {split.get('sizes', {}).get('train')} training examples and "
        f"{split.get('sizes', {}).get('dev')} dev examples from the same source.", "",
        "## Quantitative analyses",
        f"- Test accuracy {ci(best.test.get('accuracy'))}; macro F1 {ci(best.test.get('macro_f1'))}.",
        *per_class, "", *_table(record), "", *clean_test_lines(record),
        *environmental_impact(record, best),
        *selection_cost_lines(record, best),
        *provenance_lines(record, best),
        *card_section(record),
        "## Ethical considerations",
        "- The training texts are critic reviews (or the user's data); the model can reproduce "
        "their biases. " + ("Group differences over the sensitive columns are under Factors."
                            if best.analysis.get("fairness") else
                            "It has not been audited for performance across demographic groups "
                            "(name them with evaluate.sensitive_columns)."), "",
        "## Caveats and recommendations",
        *[f"- **{md(w)}**" for w in sanity_warnings(record)],
        f"- {_variance_caveat(record, best)} Energy figures on machines without RAPL/NVML are "
        "estimates.",
        *card_caveats(record, best),
    ]
    from huggingface_hub import ModelCard

    card = ModelCard(f"---\n{card_data(record, best).to_yaml()}\n---\n\n" + "\n".join(body) + "\n")
    return str(card)


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


def selection_cost_lines(record: RunRecord, best: ModelResult) -> list[str]:
    """What choosing the model cost: the search and seed stages and the whole run, beside
    the final training that ``co2_eq_emissions`` reports."""
    c = selection_costs(record)
    est = " (estimated)" if is_estimate(record) else ""
    return [
        "### Cost of choosing the model",
        "- `co2_eq_emissions` in the metadata is the final training of this model only.",
        f"- Hyperparameter search ({c['search']['stages']} trial stage(s)): "
        f"{fmt(c['search']['duration_s'])} s, {fmt(c['search']['energy_kwh'])} kWh{est}, "
        f"{fmt(c['search']['co2_kg'])} kg CO2e.",
        f"- Seed replicas ({c['seeds']['stages']} stage(s)): {fmt(c['seeds']['duration_s'])} s, "
        f"{fmt(c['seeds']['energy_kwh'])} kWh{est}, {fmt(c['seeds']['co2_kg'])} kg CO2e.",
        f"- Whole run (every stage: data, search, all models, seeds, compression, reports): "
        f"{fmt(c['run']['duration_s'])} s, {fmt(c['run']['energy_kwh'])} kWh{est}, "
        f"{fmt(c['run']['co2_kg'])} kg CO2e, ${fmt(c['run']['cost_usd'])}.", ""]


def provenance_lines(record: RunRecord, best: ModelResult) -> list[str]:
    """Where the data and the base model come from, and what that means for the license."""
    lic, base = card_license(record, best), base_model(record, best)
    lines = ["## License and provenance",
             f"- Training data: {md(published_origin(record))}; license: "
             f"{md(record.data.get('license', 'unknown'))}."]
    if base["family_is_pretrained"]:
        lines.append(f"- Base model: {base['base_model'] or 'a local folder (not on the Hub)'}; "
                     f"license: {lic['base_model'] or 'unknown'}.")
    lines.append(f"- License in the metadata: {lic['license']} ({lic['why']}).")
    return lines + [""]


def run_relative(record: RunRecord, path: str) -> str:
    """``path`` inside the run's folder, without the machine's part."""
    from pathlib import Path

    try:
        return str(Path(path).relative_to(record.run_dir))
    except ValueError:
        return Path(path).name


def with_front_matter(header: dict, body: list[str]) -> str:
    """YAML front matter between ``---`` lines, then the body."""
    import yaml

    text = yaml.safe_dump(header, sort_keys=False, allow_unicode=True)
    return f"---\n{text}---\n\n" + "\n".join(body) + "\n"
