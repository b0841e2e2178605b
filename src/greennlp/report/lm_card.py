"""MODEL_CARD.md and DATASHEET.md of an LM run (``task: lm``), from the record alone."""

from __future__ import annotations

from greennlp.record import ModelResult, RunRecord
from greennlp.report.audit_views import clean_test_lines, datasheet_lines
from greennlp.report.lm_views import lm_rows, scoring_line
from greennlp.report.card_facts import card_license
from greennlp.report.markdown import md, md_code
from greennlp.report.model_card import environmental_impact, with_front_matter
from greennlp.report.views import ci, fmt, is_estimate, model_costs


def card_data(record: RunRecord, best: ModelResult):
    """The card's metadata as ``huggingface_hub.ModelCardData``, claiming only what the
    record shows (as the classification card does): no ``datasets`` or ``model-index``,
    since an LM corpus is a built-in or a local file, never a Hub dataset id; the data's
    license where known; no ``library_name``, since greennlp's checkpoints open in greennlp;
    ``co2_eq_emissions`` for the model's own training."""
    from huggingface_hub import ModelCardData

    extra = {}
    co2 = model_costs(record, best)["train_co2_kg"]
    if co2 is not None:
        extra["co2_eq_emissions"] = {
            "emissions": round(co2 * 1000, 6), "training_type": "pre-training",
            "source": ("greennlp " + ("estimate" if is_estimate(record) else "measurement")
                       + " of this model's training; " +
                       record.footprint.get("carbon_intensity_source", "")),
            "geographical_location": record.config.get("measure", {}).get("region", "world"),
            "hardware_used": f"{record.hardware.get('usable_cpus')} x {record.hardware.get('model')} "
                             f"CPU threads"}
    return ModelCardData(
        language=["en"], license=card_license(record, best)["license"],
        pipeline_tag="text-generation", tags=["text-generation", "language-modeling", "greennlp"],
        metrics=["perplexity", "bits_per_character"],
        model_name=f"greennlp-{record.run_id}-{best.name}", **extra)


def front_matter(record: RunRecord, best: ModelResult) -> dict:
    """The card's metadata as a plain mapping (what the YAML header holds)."""
    return card_data(record, best).to_dict()


def _corpus_notes(record: RunRecord) -> dict[str, str]:
    """What the card says about the corpus's register and content: known for the built-in
    movie dialogs, the user's to judge for their own text."""
    if record.data.get("source") == "movie_dialogs":
        return {"factors": "the built-in corpus is lower-cased movie dialog",
                "ethics": "Movie dialog contains insults, stereotypes and violence; a model "
                          "trained on it reproduces them when sampled. Samples are not filtered."}
    return {"factors": "this corpus was provided by the user; see DATASHEET.md",
            "ethics": "A language model reproduces what its corpus contains, including harmful "
                      "or private text; review the corpus and the samples before use. Samples "
                      "are not filtered."}


def _others_line(record: RunRecord) -> str:
    """Models not eligible for selection (their own tokenizer, no dev score)."""
    others = [m.name for m in record.models if "perplexity" not in m.dev]
    if not others:
        return ""
    return (f"- Not eligible: {', '.join(others)} (own tokenizer, scored on test only); "
            "compare them with the others by test bits per character in the table below.")


def _table(record: RunRecord) -> list[str]:
    lines = ["| model | tokenizer | parameters | training tokens | metric | test (95% CI) | "
             "test bits/char | subsample bits/char | training energy (kWh) |", "|" + "---|" * 9]
    for r in lm_rows(record):
        lines.append(f"| {r['name']} | {r['tokenizer'] or '-'} | {fmt(r['params'])} | "
                     f"{fmt(r['tokens_trained'])} | "
                     f"{r['metric']} | {ci(r['test'], 2)} | {ci(r['bpc'])} | {ci(r['sub_bpc'])} | "
                     f"{fmt(r['train_energy_kwh'])} |")
    return lines


def render_card(record: RunRecord) -> str:
    """MODEL_CARD.md text for an LM run."""
    best = record.select()
    if best is None:
        return f"# Model card\n\nRun {record.run_id} produced no language model with a dev score.\n"
    sizes = record.data.get("split", {}).get("sizes", {})
    notes = _corpus_notes(record)
    body = [
        f"# Model card: {best.name} language model (greennlp run {record.run_id})", "",
        "## Model details",
        f"- Family: {best.family}; {fmt(best.params_total)} parameters "
        f"({fmt(best.params_non_embedding)} non-embedding); {best.flops_note}.",
        f"- Trained by greennlp {record.software.get('greennlp', '?')} on {record.created_at}; "
        f"selected among the models sharing one tokenizer by dev perplexity.",
        *[line for line in [_others_line(record)] if line],
        f"- Checkpoint: {md_code(best.checkpoint)}.", "",
        "## Intended use",
        f"- Task: {record.data.get('task', 'language modelling')}; "
        "scoring and sampling text like the training corpus.",
        "- For research and as a baseline; not for producing text that people rely on.", "",
        "## Factors",
        "- Quality differs with how far text is from the corpus (register, topic, casing: "
        f"{notes['factors']}).", "",
        "## Metrics",
        "- Perplexity: exp(mean negative log-likelihood per token), each document's end "
        "predicted; comparable only between models sharing a tokenizer.",
        "- Bits per character: total negative log-likelihood in bits / characters (a document's "
        "end counts as one); comparable across tokenizations. Intervals: percentile bootstrap.",
        f"- {scoring_line(record)}", "",
        "## Evaluation data",
        f"- {sizes.get('test')} test documents of {md(record.data.get('origin', '?'))}, split by "
        f"blocks of neighbouring documents (seed {record.data.get('split', {}).get('seed')}). "
        "See DATASHEET.md.", "",
        "## Training data",
        f"- {sizes.get('train')} training documents and {sizes.get('dev')} dev documents.", "",
        "## Quantitative analyses",
        f"- Test perplexity {ci(best.test.get('perplexity'), 2)}; bits per character "
        f"{ci(best.test.get('bits_per_char'))}.", "", *_table(record), "",
        *clean_test_lines(record),
        *environmental_impact(record, best),
        "## Ethical considerations",
        f"- {notes['ethics']}", "",
        "## Caveats and recommendations",
        "- One training run per model (no seed variance); small models trained briefly on a "
        "small corpus. Energy figures without RAPL/NVML are estimates.",
    ]
    return with_front_matter(front_matter(record, best), body)


def render_datasheet(record: RunRecord) -> str:
    """DATASHEET.md text for an LM corpus (Gebru et al. 2021 sections)."""
    d = record.data
    if not d:
        return f"# Datasheet\n\nRun {record.run_id} did not finish its data stage.\n"
    c, sp, st = d.get("cleaning", {}), d.get("split", {}), d.get("stats", {})
    rows = ["| split | documents | characters | words |", "|---|---|---|---|"]
    rows += [f"| {n} | {fmt(v['documents'])} | {fmt(v['characters'])} | {fmt(v['words'])} |"
             for n, v in st.get("splits", {}).items()]
    leak = st.get("leakage", {})
    lines = [
        f"# Datasheet: {md(d.get('source'))} (greennlp run {record.run_id})", "",
        "## Motivation", f"- {md(d.get('description', 'User-provided text.'))}",
        f"- Task in this run: {d.get('task', 'language modelling')}.", "",
        "## Composition", f"- Source: {md(d.get('origin'))}.",
        f"- Documents: {md(d.get('documents_found', 'one per row or line'))}; "
        f"{fmt(d.get('rows_read'))} found, {fmt(c.get('rows_out'))} after cleaning.",
        f"- Training vocabulary: {fmt(st.get('train_vocabulary_words'))} distinct whitespace "
        "tokens (case kept).", "", *rows, "",
        "## Collection process", f"- Homepage: {md(d.get('homepage', 'n/a'))}.",
        f"- Citation: {md(d.get('citation') or 'n/a')}", "",
        "## Preprocessing and cleaning",
        f"- Unicode NFC; spaces collapsed inside each line; empty lines and documents dropped "
        f"({c.get('empty_dropped', 0)} documents); case and punctuation kept as written.",
        f"- Exact duplicate documents: {c.get('duplicate_rows', 0)}; dropped: "
        f"{c.get('duplicate_rows_dropped', 0)}.", "",
        "## Splits",
        f"- Blocks of {sp.get('block_documents')} neighbouring documents, assigned whole to test, "
        f"dev and train in a seeded order (seed {sp.get('seed')}); sizes {sp.get('sizes')}.",
        f"- Dev documents also in train: {leak.get('dev_exact_in_train')}; test documents also in "
        f"train: {leak.get('test_exact_in_train')} (exact matches).", "",
        *datasheet_lines(record),
        "## Uses", "- Training and evaluating language models; dev for model selection and early "
        "stopping, test once per final model.", "",
        "## Distribution", f"- License: {md(d.get('license', 'unknown'))}.", "",
        "## Maintenance", "- Built-in files are pinned by package version and SHA-256.",
    ]
    return "\n".join(lines) + "\n"
