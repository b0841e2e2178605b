"""DATASHEET.md: the run's data, in the sections of Gebru et al. (2021), "Datasheets for
Datasets", filled from the data section of the run record."""

from __future__ import annotations

from greennlp.record import RunRecord
from greennlp.report.audit_views import datasheet_lines
from greennlp.report.markdown import md, md_code
from greennlp.report.views import fmt


def _labels_table(stats: dict) -> list[str]:
    splits = stats.get("splits", {})
    labels = sorted(stats.get("labels", {}))
    lines = ["| label | all | " + " | ".join(splits) + " |", "|---|---|" + "---|" * len(splits)]
    for lab in labels:
        total = stats["labels"][lab]
        share = total / max(1, stats.get("size", 1))
        lines.append(f"| {md(lab)} | {total:,} ({share:.1%}) | " +
                     " | ".join(f"{splits[s]['labels'].get(lab, 0):,}" for s in splits) + " |")
    lines.append("| **total** | " + f"{stats.get('size', 0):,} | " +
                 " | ".join(f"{splits[s]['size']:,}" for s in splits) + " |")
    return lines


def _length_table(stats: dict) -> list[str]:
    cols = ("mean", "min", "p25", "median", "p75", "p95", "max")
    lines = ["| unit | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for unit, q in stats.get("length", {}).items():
        lines.append(f"| {unit} | " + " | ".join(f"{q[c]:.1f}" for c in cols) + " |")
    return lines


def describe_given(info: dict) -> str:
    """One datasheet sentence: which splits the dataset gave and which greennlp made.

    >>> describe_given({"given": {"train": "file a.csv", "test": "file b.csv"}, "made": ["dev"],
    ...                 "method": "stratified", "dev_fraction": 0.1, "seed": 0})
    'Given by the dataset: train (file a.csv), test (file b.csv); made by greennlp from the training data: dev (stratified, data.dev_fraction 0.1, seed 0).'
    """
    given = ", ".join(f"{n} ({src})" for n, src in info.get("given", {}).items())
    made = ", ".join(f"{n} ({info['method']}, data.{n}_fraction {info[f'{n}_fraction']:g}, "
                     f"seed {info['seed']})"
                     for n in info.get("made", []))
    return (f"Given by the dataset: {given}" + (f"; made by greennlp from the training data: "
                                                f"{made}" if made else "; nothing made") + ".")


def _physical_lines(lines: dict | None) -> list[str]:
    """The file's physical lines against the rows parsed from it, when they differ."""
    if not lines or not lines.get("differs"):
        return []
    first = lines.get("first_multiline")
    where = (f"; the first is row {first['row']} (from line {first['line']}, spanning "
             f"{first['lines']} lines): \"{md(first['text'])}\"" if first else "")
    return [(f"- Physical lines: {lines['physical_lines']:,} in the file against "
             f"{lines['rows']:,} rows parsed (plus the header; {lines['blank_lines']:,} blank "
             f"lines); {lines['multiline_rows']:,} rows span several lines{where}. An "
             f"unbalanced quote merges rows: check them, or set data.strict=true to refuse "
             f"them.")]


def render(record: RunRecord) -> str:
    """DATASHEET.md text of a classification run."""
    d = record.data
    if not d:
        return f"# Datasheet\n\nRun {record.run_id} did not finish its data stage.\n"
    c, sp, st = d.get("cleaning", {}), d.get("split", {}), d.get("stats", {})
    leak = st.get("leakage", {})
    conflicts = "".join(f"\n  - \"{md(e['text'])}\" labelled {', '.join(map(md, e['labels']))}"
                        for e in c.get("conflict_examples", []))
    group_line = ""
    if "groups" in sp:
        group_line = (f"- Groups (column {md_code(d.get('columns', {}).get('group'))}) per split: "
                      f"{sp['groups']}; groups in both train and test: "
                      f"{sp.get('groups_shared_train_test')}.")
    given_lines = []
    if sp.get("given"):
        given_lines.append(f"- {md(describe_given(sp))}")
        if "test_exact_in_dev" in leak:
            given_lines.append(
                f"- Leakage between the given splits: test texts also in dev: "
                f"{leak['test_exact_in_dev']} exact, {leak['test_loose_in_dev']} ignoring case "
                "and punctuation (duplicates across splits are reported, not removed).")
        for name, gc in d.get("cleaning_given", {}).items():
            given_lines.append(
                f"- Cleaning of the given {name} split: {gc.get('rows_in')} rows in, "
                f"{gc.get('rows_out')} out ({gc.get('empty_dropped', 0)} empty, "
                f"{gc.get('duplicate_rows_dropped', 0)} duplicate and "
                f"{gc.get('conflict_rows_dropped', 0)} conflicting rows dropped).")
    lines = [
        f"# Datasheet: {md(d.get('source'))} (greennlp run {record.run_id})", "",
        "## Motivation",
        f"- {md(d.get('description', 'User-provided dataset.'))}",
        f"- Task in this run: {d.get('task', 'text classification')}.", "",
        "## Composition",
        f"- Source: {md(d.get('origin'))}.",
        f"- Rows read: {fmt(d.get('rows_read'))}; after cleaning: {fmt(c.get('rows_out'))}"
        + (f"; subsampled to {fmt(d.get('subsampled_to'))}" if d.get("subsampled_to") else "") + ".",
        f"- Columns used: {md(d.get('columns'))}.",
        *_physical_lines(d.get("lines")),
        f"- Training vocabulary: {fmt(st.get('train_vocabulary_words'))} distinct lower-cased "
        f"whitespace tokens.", "",
        "### Label distribution", "", *_labels_table(st), "",
        "### Text length", "", *_length_table(st), "",
        "## Collection process",
        f"- Homepage: {md(d.get('homepage', 'n/a'))}.",
        f"- Citation: {md(d.get('citation') or 'n/a')}", "",
        "## Preprocessing and cleaning",
        "- Unicode NFC normalisation; runs of whitespace collapsed to one space; texts empty "
        f"after that dropped ({c.get('empty_dropped', 0)}).",
        f"- Exact duplicates: {c.get('duplicate_texts', 0)} texts occur more than once "
        f"({c.get('duplicate_rows', 0)} extra rows); {c.get('duplicate_rows_dropped', 0)} "
        "duplicate rows dropped.",
        f"- Label conflicts (same text, different labels): {c.get('conflict_texts', 0)} texts "
        f"in {c.get('conflict_rows', 0)} rows; {c.get('conflict_rows_dropped', 0)} rows dropped."
        + conflicts, "",
        "## Splits",
        f"- Method: {sp.get('method')}, seed {sp.get('seed')}, dev fraction "
        f"{sp.get('dev_fraction') or 'n/a (given)'}, test fraction "
        f"{sp.get('test_fraction') or 'n/a (given)'}; sizes {sp.get('sizes')}.",
        *([group_line] if group_line else []),
        *given_lines,
        f"- Leakage check: dev texts also in train: {leak.get('dev_exact_in_train')} exact, "
        f"{leak.get('dev_loose_in_train')} ignoring case and punctuation; test texts also in "
        f"train: {leak.get('test_exact_in_train')} exact, {leak.get('test_loose_in_train')} "
        "ignoring case and punctuation.", "",
        *datasheet_lines(record),
        "## Uses",
        "- Model selection uses the dev split only; the test split is evaluated once per "
        "final model.", "",
        "## Distribution",
        f"- License: {md(d.get('license', 'unknown'))}.", "",
        "## Maintenance",
        "- The built-in file is pinned by package version and SHA-256; a changed file "
        "fails the checksum instead of silently changing results.",
    ]
    return "\n".join(lines) + "\n"
