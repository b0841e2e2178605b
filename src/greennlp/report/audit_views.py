"""The data audit in the reports: near-duplicate shares (as Lee et al. 2022 tabulate them),
exact shared spans, MAP-D and cartography with examples, and the clean-test scores.
Everything is read from ``record.data["audit"]``; nothing is measured here."""

from __future__ import annotations

import re
from typing import Any

from greennlp.record import RunRecord
from greennlp.report.markdown import md, md_plain
from greennlp.report.views import ci, fmt, main_metric, metric_name


def _audit(record: RunRecord) -> dict[str, Any]:
    return record.data.get("audit") or {}


def _quote(text: str) -> str:
    return '"' + md(" ".join(text.split())) + '"'


def _pair(e: dict) -> str:
    labels = f" ({md(e['a_label'])} / {md(e['b_label'])})" if "a_label" in e else ""
    return (f"  - Jaccard {e['jaccard']:.2f}{labels}: {e['a_split']} {_quote(e['a'])} ~ "
            f"{e['b_split']} {_quote(e['b'])}")


def near_duplicate_lines(record: RunRecord) -> list[str]:
    """Markdown: the shares table, LSH recall, examples (and exact spans for LM corpora)."""
    a = _audit(record)
    if "train" not in a:
        return ["- The data audit did not run (audit.enabled=false or an older run)."]
    s, t = a["settings"], a["train"]
    lines = [
        f"Near-duplicates: two documents whose sets of word {s['ngram']}-grams ({s['unit']}) "
        f"have Jaccard similarity >= {s['threshold']}, found with MinHash ({s['num_perm']} "
        f"hashes, {s['bands']} bands of {s['rows_per_band']}) and confirmed with the exact "
        f"Jaccard similarity (Lee et al. 2022). The recall of LSH against brute force on "
        f"{fmt(a['recall']['sample_documents'])} documents: {a['recall']['recall']:.3f} "
        f"({a['recall']['found_pairs']} of {a['recall']['true_pairs']} pairs).", "",
        "| split | documents | with a near-duplicate in train | share | removable (all but one "
        "per cluster) |", "|---|---|---|---|---|",
        f"| train | {fmt(t['documents'])} | {fmt(t['in_clusters'])} (in {fmt(t['clusters'])} "
        f"clusters, largest {t['largest_cluster']}) | {t['in_clusters_share']:.2%} | "
        f"{fmt(t['removable'])} ({t['removable_share']:.2%}) |",
    ]
    for name in ("dev", "test"):
        d = a[name]
        lines.append(f"| {name} | {fmt(d['documents'])} | {fmt(d['with_train_match'])} | "
                     f"{d['with_train_match_share']:.2%} | - |")
    lines.append("")
    if "pairs_with_different_labels" in t:
        lines.append(f"- Near-duplicate pairs whose labels disagree: train {t['pairs_with_different_labels']}, "
                     f"train-dev {a['dev'].get('pairs_with_different_labels', 0)}, train-test "
                     f"{a['test'].get('pairs_with_different_labels', 0)}.")
    for name, what in (("train", "inside train"), ("test", "train ~ test"), ("dev", "train ~ dev")):
        ex = a.get("examples", {}).get(name, [])
        if ex:
            lines.append(f"- Examples {what} (least similar first):")
            lines += [_pair(e) for e in ex]
    sub = a.get("substrings")
    if sub:
        lines += ["", f"Exact shared spans of {sub['length']} {sub['unit']} (every span hashed; "
                  f"each split read as one stream): {sub['train_tokens_in_repeated_spans']:.2%} "
                  "of train tokens lie in a span that occurs at least twice in train."]
        for name in ("dev", "test"):
            d = sub.get(name, {})
            lines.append(f"- {name}: {d.get('tokens_covered_share', 0):.2%} of its tokens "
                         f"({fmt(d.get('tokens_covered'))}) lie in a span also in train; "
                         f"{fmt(d.get('documents_touched'))} documents touched.")
            lines += [f"  - {_quote(x[:300])}" for x in d.get("examples", [])]
    return lines


def dynamics_lines(record: RunRecord) -> list[str]:
    """Markdown: MAP-D categories and cartography regions, with their top examples."""
    dyn = _audit(record).get("dynamics")
    if not dyn:
        return []
    m, c = dyn["map_d"], dyn["cartography"]
    lines = [
        f"From a training run of `{dyn['model']}` ({dyn['epochs']} epochs, best dev accuracy "
        f"{fmt(dyn.get('best_dev_accuracy'))}) on train plus four probe suites of "
        f"{dyn['probe_size']} examples (typical, atypical, random labels, corrupted inputs; "
        f"Siddiqui et al. 2022), every training example's loss trajectory gets the suite most "
        f"common among its {dyn['knn']} nearest probe trajectories. The probes' own suite won "
        f"the vote for {m['probe_accuracy']:.0%} of them.", "",
        "| MAP-D category | share of training examples |", "|---|---|",
        *[f"| {k} | {v['share']:.1%} |" for k, v in m["categories"].items()], ""]
    lines += _top_examples(m["categories"],
                           lambda k: f"Most {k.replace('_', ' ')}-like training examples",
                           lambda e: f"vote {e['score']:.2f}, mean loss {e['mean_loss']:.2f}")
    lines += ["", "Dataset cartography (Swayamdipta et al. 2020): confidence = mean probability "
              "of the label over epochs, variability = its standard deviation.", "",
              "| region | share |", "|---|---|",
              *[f"| {k} | {v['share']:.1%} |" for k, v in c["regions"].items()], ""]
    lines += _top_examples(c["regions"], str, lambda e: f"confidence {e['confidence']:.2f}, "
                                                       f"variability {e['variability']:.2f}")
    return lines


def _top_examples(groups: dict, heading, detail) -> list[str]:
    """A bullet per group that has top examples, each example quoted with its label and
    ``detail(example)``."""
    lines = []
    for k, v in groups.items():
        if v["top"]:
            lines.append(f"- {heading(k)}:")
            lines += [f"  - [{md(e['label'])}] {_quote(e['text'])} ({detail(e)})" for e in v["top"]]
    return lines


def datasheet_lines(record: RunRecord) -> list[str]:
    """The datasheet's audit sections (Composition: duplicates; label quality)."""
    lines = ["## Near-duplicates and contamination", "", *near_duplicate_lines(record), ""]
    dyn = dynamics_lines(record)
    if dyn:
        lines += ["## Label quality: training dynamics", "", *dyn, ""]
    return lines


def clean_test(record: RunRecord) -> dict[str, Any]:
    """``{"examples", "removed", "models": {name: metrics}}`` (empty when not computed)."""
    return _audit(record).get("clean_test") or {}


def clean_test_lines(record: RunRecord) -> list[str]:
    """Markdown: every model's main test metric (and macro F1) on the full and the clean
    test set."""
    ct = clean_test(record)
    if not ct.get("models"):
        return []
    lines = [f"Clean test: the {fmt(ct['examples'])} test documents without a near-duplicate in "
             f"train ({fmt(ct['removed'])} removed), scored from each model's saved test "
             "predictions (no second pass over test).", "",
             "| model | metric | test | clean test |", "|---|---|---|---|"]
    for m in record.models:
        clean = ct["models"].get(m.name)
        if not clean:
            continue
        for key in (main_metric(m), "macro_f1"):
            if key in clean:
                lines.append(f"| {m.name} | {metric_name(key)} | {ci(m.test.get(key))} | "
                             f"{ci(clean.get(key))} |")
    return lines + [""]


def markdown_to_html(lines: list[str]) -> str:
    """The few markdown forms these lines use (tables, bullets, paragraphs), as HTML."""
    from html import escape as html_escape

    def escape(text: str) -> str:
        return html_escape(md_plain(text))

    out, table, items = [], [], []

    def flush() -> None:
        if table:
            rows = [r for r in table if not set(r.replace("|", "")) <= set("-")]
            head, body = rows[0], rows[1:]
            cells = lambda r, tag: "".join(f"<{tag}>{escape(c.strip())}</{tag}>"  # noqa: E731
                                           for c in re.split(r"(?<!\\)\|", r.strip("|")))
            out.append("<table><tr>" + cells(head, "th") + "</tr>" +
                       "".join("<tr>" + cells(r, "td") + "</tr>" for r in body) + "</table>")
            table.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>")
            items.clear()
    for line in lines:
        if line.startswith("|"):
            table.append(line)
            continue
        if line.lstrip().startswith("- "):
            if table:
                flush()
            items.append(line.strip()[2:])
            continue
        flush()
        if line.startswith("## "):
            out.append(f"<h3>{escape(line[3:])}</h3>")
        elif line.strip():
            out.append(f"<p>{escape(line)}</p>")
    flush()
    return "\n".join(out)


def html_section(record: RunRecord) -> str | None:
    """The data-audit section of report.html (None when the audit did not run)."""
    if not _audit(record):
        return None
    from greennlp.report.audit_plots import cartography_map

    lines = ["## Near-duplicates and contamination", *near_duplicate_lines(record), "",
             *(["## Clean-test scores", *clean_test_lines(record)] if clean_test(record) else [])]
    dyn = dynamics_lines(record)
    if dyn:
        lines += ["## Label quality: training dynamics", *dyn]
    body = markdown_to_html(lines)
    png = cartography_map(record)
    if png:
        import base64

        body += ('<p><img alt="dataset cartography" src="data:image/png;base64,'
                 + base64.b64encode(png).decode("ascii") + '"></p>')
    return body


def audit_report(record: RunRecord) -> str:
    """AUDIT.md: what ``greennlp audit`` found, with the time each part took."""
    a = _audit(record)
    timing = [f"- {s.name}: {s.duration_s:.1f} s" for s in record.stages
              if s.name == "data" or s.name.startswith("audit")]
    source = record.data.get("source") or record.data.get("origin")
    return "\n".join([f"# Data audit: {md(source)} (greennlp run {record.run_id})", "",
                      f"- Documents: {fmt(a.get('documents'))}; time per stage:", *timing, "",
                      "## Near-duplicates and contamination", "", *near_duplicate_lines(record), "",
                      *(["## Label quality: training dynamics", "", *dynamics_lines(record), ""]
                        if a.get("dynamics") else [])]) + "\n"
