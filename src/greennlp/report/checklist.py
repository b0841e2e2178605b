"""The experimental-results checklist of Dodge et al. (2019), "Show Your Work", filled
from the run record. Items that greennlp cannot fill yet say so explicitly."""

from __future__ import annotations

from typing import Callable

from greennlp.record import RunRecord
from greennlp.report.views import ci, fmt, model_costs

NOT_YET = "Not yet supported by greennlp"


def _infrastructure(r: RunRecord) -> str:
    h, s = r.hardware, r.software
    gpus = ", ".join(g["name"] for g in h.get("gpus", [])) or "no GPU"
    return (f"{h.get('model', '?')} CPU, {h.get('usable_cpus', '?')} usable of "
            f"{h.get('logical_cpus', '?')} logical CPUs, {h.get('memory_gib', '?')} GiB RAM, "
            f"{gpus}; {h.get('platform', '')}. Software: "
            + ", ".join(f"{k} {v}" for k, v in s.items()) + ".")


def _runtime(r: RunRecord) -> str:
    parts = []
    for m in r.models:
        c = model_costs(r, m)
        parts.append(f"{m.name}: training {fmt(c['train_duration_s'])} s "
                     f"({m.training.get('epochs_run', 1)} epoch(s)), evaluation "
                     f"{fmt(c['evaluate_duration_s'])} s")
    return "; ".join(parts) + " (one run each, so the average is that run)." if parts else "-"


def _splits(r: RunRecord) -> str:
    sp = r.data.get("split", {})
    sizes = sp.get("sizes", {})
    text = (f"{sp.get('method', '?')} split with seed {sp.get('seed')}: train {sizes.get('train')}, "
            f"dev {sizes.get('dev')}, test {sizes.get('test')} examples")
    if "groups" in sp:
        text += (f"; groups {sp['groups']}, {sp.get('groups_shared_train_test')} shared "
                 f"between train and test")
    return text + ". See DATASHEET.md."


def _dev_for_test(r: RunRecord) -> str:
    if r.config.get("task") == "lm":
        from greennlp.report.lm_views import dev_for_test

        return dev_for_test(r)
    return "; ".join(f"{m.name}: dev accuracy {ci(m.dev.get('accuracy'))}, test accuracy "
                     f"{ci(m.test.get('accuracy'))}" for m in r.models) or "-"


def _code(r: RunRecord) -> str:
    return (f"greennlp {r.software.get('greennlp', '?')}; command `{r.command}`; the resolved "
            f"configuration is in record.json (`config`).")


def _trial_count(r: RunRecord) -> str:
    return ("No hyperparameter search was run: each model was trained once with the "
            "configured values. " + NOT_YET + ": search (planned).")


def _best_config(r: RunRecord) -> str:
    if r.config.get("task") == "lm":
        from greennlp.report.lm_views import best_config

        return best_config(r)
    cfg = r.config
    parts = []
    for m in r.models:
        section = {"tfidf_logreg": "tfidf", "transformer": "transformer", "minilm": "minilm",
                   "transformer_mlm": "transformer"}.get(m.name)
        parts.append(f"{m.name}: {cfg.get(section, {})}")
    return "; ".join(parts) or "-"


def _bounds(r: RunRecord) -> str:
    return NOT_YET + ": no search space was declared in this run (search is planned)."


def _method(r: RunRecord) -> str:
    score = "dev perplexity" if r.config.get("task") == "lm" else "dev accuracy"
    return ("Values were set by hand (the defaults); model selection between epochs and "
            f"between models uses {score} only. " + NOT_YET + ": automated search.")


def _evp(r: RunRecord) -> str:
    return NOT_YET + ": expected validation performance needs several trials (planned)."


ITEMS: list[tuple[str, str, Callable[[RunRecord], str]]] = [
    ("all", "A clear description of the computing infrastructure used", _infrastructure),
    ("all", "The average runtime for each approach", _runtime),
    ("all", "Details of train/validation/test splits", _splits),
    ("all", "Corresponding validation performance for each reported test result", _dev_for_test),
    ("all", "A link to implemented code", _code),
    ("search", "Bounds for each hyperparameter", _bounds),
    ("search", "Hyperparameter configurations for best-performing models", _best_config),
    ("search", "Number of hyperparameter search trials", _trial_count),
    ("search", "The method of choosing hyperparameter values and the criterion used to select "
               "among them", _method),
    ("search", "Expected validation performance, or another measure of the mean and variance "
               "as a function of the number of hyperparameter trials", _evp),
]


def fill(record: RunRecord) -> list[dict[str, str]]:
    """Every checklist item with its answer from the record."""
    out = []
    for section, item, answer_of in ITEMS:
        answer = answer_of(record)
        status = "not yet supported" if answer.startswith(NOT_YET) else "filled"
        out.append({"section": section, "item": item, "answer": answer, "status": status})
    return out


def render(record: RunRecord) -> str:
    """CHECKLIST.md."""
    lines = [f"# Reproducibility checklist: run {record.run_id}", "",
             "Items of the experimental-results checklist of Dodge et al. (2019), *Show Your "
             "Work: Improved Reporting of Experimental Results*, filled from `record.json`.", ""]
    titles = {"all": "For all reported experimental results",
              "search": "For experiments with hyperparameter search"}
    current = None
    for entry in fill(record):
        if entry["section"] != current:
            current = entry["section"]
            lines += ([""] if len(lines) > 4 else []) + [f"## {titles[current]}", ""]
        mark = "x" if entry["status"] == "filled" else " "
        lines.append(f"- [{mark}] **{entry['item']}.** {entry['answer']}")
    return "\n".join(lines) + "\n"
