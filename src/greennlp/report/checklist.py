"""The experimental-results checklist of Dodge et al. (2019), "Show Your Work", filled
from the run record. An item that a run's settings leave unanswered (e.g. search
disabled) says so explicitly."""

from __future__ import annotations

from typing import Callable

from greennlp.record import ModelResult, RunRecord, SearchState
from greennlp.report.finetune_views import method_text
from greennlp.report.cheaper_views import seed_strategy_lines
from greennlp.report.markdown import md_code
from greennlp.report.views import (ci, configured, fmt, main_metric, metric_name, model_costs,
                                   origin)
from greennlp.evaluate.evp import expected_max

NOT_ANSWERED = "Not answered by this run"


def _infrastructure(r: RunRecord) -> str:
    h, s = r.hardware, r.software
    gpus = ", ".join(g["name"] for g in h.get("gpus", [])) or "no GPU"
    return (f"{h.get('model', '?')} CPU, {h.get('usable_cpus', '?')} usable of "
            f"{h.get('logical_cpus', '?')} logical CPUs, {h.get('memory_gib', '?')} GiB RAM, "
            f"{gpus}; {h.get('platform', '')}. Software: "
            + ", ".join(f"{k} {v}" for k, v in s.items()) + ".")


def _searched(r: RunRecord) -> dict[str, SearchState]:
    return {f: st for f, st in r.search.items() if st.completed}


def _mean_trial(r: RunRecord, family: str, key: str) -> float | None:
    values = [getattr(r.any_stage(f"search:{family}:trial{t.trial_id:03d}"), key, None)
              for t in r.search[family].trials]
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def _pretrained(m: ModelResult) -> bool:
    """Loaded and scored as is (not trained here)."""
    return origin(m) == "as_is"


def _runtime(r: RunRecord) -> str:
    parts = []
    for family in _searched(r):
        parts.append(f"{family}: {fmt(_mean_trial(r, family, 'duration_s'))} s per search trial "
                     f"on average ({len(r.search[family].trials)} trials)")
    for m in r.models:
        c = model_costs(r, m)
        if m.variant_of:
            made = r.stage(f"compress:{m.name}")
            parts.append(f"{m.name}: compressed from {m.variant_of} in "
                         f"{fmt(made.duration_s if made else None)} s, evaluation "
                         f"{fmt(c['evaluate_duration_s'])} s")
            continue
        if _pretrained(m):
            parts.append(f"{m.name}: pretrained, loaded in {fmt(c['train_duration_s'])} s (not "
                         f"trained), evaluation {fmt(c['evaluate_duration_s'])} s")
            continue
        parts.append(f"{m.name}: final model {fmt(c['train_duration_s'])} s of training "
                     f"({m.training.epochs_run or 1} epoch(s)), evaluation "
                     f"{fmt(c['evaluate_duration_s'])} s")
    for family, runs in r.seed_runs.items():
        times = [r.stage(row.stage).duration_s for row in runs.per_seed
                 if row.stage.startswith("seed:") and r.stage(row.stage)]
        if times:
            parts.append(f"{family}: {fmt(sum(times) / len(times))} s per seed run "
                         f"(training and evaluation, {len(times)} runs)")
        if runs.strategy == "early_stopped":
            parts.append(f"{family} seeds early-stopped (seeds.strategy=early_stopped): "
                         f"{fmt(runs.cost.get('duration_s'))} s and "
                         f"{fmt(runs.cost.get('energy_kwh'))} kWh for every seed stage, the "
                         f"stopped ones included; all to the end would have taken about "
                         f"{fmt(runs.all_to_end_cost.get('energy_kwh'))} kWh (estimate)")
    subset = r.data.get("train_subset")
    if subset and subset.get("probe_stage"):
        c = subset["ranking_cost"]
        parts.append(f"ranking the training data ({subset['ranking']}, the audit's probe "
                     f"training): {fmt(c.get('duration_s'))} s, {fmt(c.get('energy_kwh'))} kWh")
    return "; ".join(parts) + "." if parts else "-"


def _splits(r: RunRecord) -> str:
    sp = r.data.get("split", {})
    sizes = sp.get("sizes", {})
    text = (f"{sp.get('method', '?')} split with seed {sp.get('seed')}: train {sizes.get('train')}, "
            f"dev {sizes.get('dev')}, test {sizes.get('test')} examples")
    if "groups" in sp:
        text += (f"; groups {sp['groups']}, {sp.get('groups_shared_train_test')} shared "
                 f"between train and test")
    given = [n for n in sp.get("given", {}) if n != "train"]
    if given or sp.get("given"):
        text += (f"; {' and '.join(given) or 'no split'} as the dataset gives, "
                 f"{' and '.join(sp.get('made', [])) or 'nothing'} made by greennlp")
    return text + ". See DATASHEET.md."


def _dev_for_test(r: RunRecord) -> str:
    parts = []
    for m in r.models:
        metric = main_metric(m)
        bpc = m.test.get("bits_per_char")
        parts.append(f"{m.name}: dev {metric_name(metric)} {ci(m.dev.get(metric))}, test "
                     f"{metric_name(metric)} {ci(m.test.get(metric))}"
                     + (f", test bits/char {ci(bpc)}" if bpc else ""))
    return "; ".join(parts) or "-"


def _code(r: RunRecord) -> str:
    return (f"greennlp {r.software.get('greennlp', '?')}; command {md_code(r.command)}; the resolved "
            f"configuration is in record.json (`config`).")


def _trial_count(r: RunRecord) -> str:
    searched = _searched(r)
    parts = [f"{f}: {len(st.trials)} trials ({st.method}, up to {st.max_epochs} epoch(s) each)"
             for f, st in searched.items()]
    unsearched = [m.name for m in r.models if m.name not in searched]
    if unsearched:
        parts.append(f"not searched (1 configuration each): {', '.join(unsearched)}")
    seeds = [f"{f}: {len(v.seeds)} seeds of the final configuration" if v.strategy == "all" else
             f"{f}: {len(v.seeds) + len(v.stopped)} seeds of the final configuration, "
             f"early-stopped after {v.scored_after_epochs} of {v.epochs} epochs, "
             f"{len(v.seeds)} trained to the end (seeds.keep={v.keep})"
             for f, v in r.seed_runs.items()]
    return "; ".join(parts + seeds) + "."


def _best_config(r: RunRecord) -> str:
    parts = []
    for m in r.models:
        state = _searched(r).get(m.name)
        if m.variant_of:
            parts.append(f"{m.name}: {m.variant_of} compressed as set in the compress section")
        elif state:
            parts.append(f"{m.name}: trial {state.best_trial} with {state.best_params} "
                         f"(dev accuracy {fmt(state.best_score)}), other settings as configured")
        elif _pretrained(m):
            parts.append(f"{m.name}: pretrained, evaluated as is")
        else:
            settings = configured(r, m)
            parts.append(f"{m.name}: the configured values "
                         f"{'(none: the family has no settings)' if settings is None else settings}")
        facts = None if m.variant_of else m.training.finetune
        if facts:
            parts[-1] += (f", fine-tuned with {method_text(facts)} "
                          f"({fmt(facts.get('trainable_params'))} of "
                          f"{fmt(facts.get('total_params'))} parameters trained)")
    return "; ".join(parts + [_training_data(r)])


def _training_data(r: RunRecord) -> str:
    """The training-data settings (train.data_fraction, train.data_ranking)."""
    subset = r.data.get("train_subset")
    if not subset:
        return "training data: every training example (train.data_fraction=1)"
    return (f"training data: {subset['kept']} of {subset['of']} examples, "
            f"train.data_fraction={subset['fraction']} of each class kept by "
            f"train.data_ranking={subset['ranking']}")


def _bounds(r: RunRecord) -> str:
    parts = []
    for family, state in _searched(r).items():
        bounds = ", ".join(f"{k} {v['dist']} " + (f"{v['values']}" if v["dist"] == "choice"
                                                  else f"[{v['low']}, {v['high']}]")
                           for k, v in state.space.items())
        parts.append(f"{family}: {bounds}")
    if not parts:
        return NOT_ANSWERED + ": no search was run (search.enabled is false)."
    unsearched = [m.name for m in r.models if m.name not in r.search]
    if unsearched:
        parts.append(f"{', '.join(unsearched)}: not searched (fixed values)")
    return "; ".join(parts) + "."


def _method(r: RunRecord) -> str:
    parts = []
    for family, st in _searched(r).items():
        how = {"random": "random search (uniform / log-uniform / integer / choice sampling)",
               "grid": "grid search", "asha": f"ASHA successive halving (rungs {st.rungs} "
                                               f"epochs, reduction factor {st.reduction_factor})"}
        parts.append(f"{family}: {how[st.method]} on the {st.executor} executor; criterion: "
                     f"{st.selection}")
    if not parts:
        parts.append("no search: values were set in the configuration")
    metrics = dict.fromkeys(metric_name(main_metric(m)).replace("masked ", "") for m in r.models)
    score = " / ".join(f"dev {m}" for m in metrics) or "dev accuracy"
    parts.append(f"between epochs and between models: {score}; test is never used for "
                 "selection")
    return "; ".join(parts) + "."


def _evp(r: RunRecord) -> str:
    parts = []
    for family, st in _searched(r).items():
        scores = [t.score for t in st.trials if t.score is not None]
        if st.method != "asha" and scores:
            (m1, v1), (mn, vn) = expected_max(scores, 1), expected_max(scores, len(scores))
            parts.append(f"{family}: expected best dev accuracy {m1:.3f} +/- {v1 ** 0.5:.3f} with "
                         f"1 trial, {mn:.3f} +/- {vn ** 0.5:.3f} with {len(scores)} trials "
                         f"(curves against budget in report.html)")
        elif scores:
            mean = sum(scores) / len(scores)
            sd = (sum((x - mean) ** 2 for x in scores) / max(1, len(scores) - 1)) ** 0.5
            parts.append(f"{family}: ASHA trials (not i.i.d., so no EVP): dev accuracy mean "
                         f"{mean:.3f}, sd {sd:.3f} over {len(scores)} trials")
    for family, runs in r.seed_runs.items():
        dev = runs.summary.get("dev_accuracy")
        if dev:
            trained = " trained to the end (reported apart from the best of all seeds)" \
                if runs.strategy == "early_stopped" else ""
            parts.append(f"{family} over {dev.n} seeds{trained}: dev accuracy mean "
                         f"{dev.mean:.3f}, sd {dev.std:.3f}")
    parts += seed_strategy_lines(r)
    return "; ".join(parts) + "." if parts else (NOT_ANSWERED + ": it ran no search and no seed "
                                                 "replicas.")


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
        status = "not answered" if answer.startswith(NOT_ANSWERED) else "filled"
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
