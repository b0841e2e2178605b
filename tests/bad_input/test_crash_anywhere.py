"""Crash anywhere: a tiny but complete run (search, seeds, evaluation, report) killed with
SIGKILL at 20 random moments, stopped with SIGTERM, starved of disk after a random number
of writes, and resumed after each, ends as an uninterrupted run of the same seed does.

After the last resumption: the dev and test metrics equal the uninterrupted run's, every
test evaluation is counted once, the footprint holds the running totals that every
stopped attempt saved (stages save them every ``attempts.PROGRESS_EVERY_S`` here, 10 s in
a real run), every JSON file in the run folder parses, every model folder loads and no
temporary file is left. The moments are seeded random delays within what is left of
the run (the uninterrupted run's duration less its stages that are done); attempts fork
from one process that imported greennlp once (tests/bad_input/attempts.py), so a run of a
few seconds takes a few seconds.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from greennlp import store
from tests.bad_input.attempts import Attempts
from tests.conftest import make_frame
from tests.lm.conftest import TINY_LM, make_corpus

pytestmark = pytest.mark.integration
SURVIVED: dict[str, int] = {}  # task and kind of stop -> attempts stopped and resumed
HANDLED: dict[str, int] = {}  # kind of stop -> attempts that exited 130 (saved as failed)
CARRIED: dict[str, float] = {}  # stage -> the most seconds of stopped attempts carried over

CLASSIFICATION = ["models=[tfidf_logreg]", "search.families.tfidf_logreg.trials=3",
                  "seeds.count=2", "seeds.models=[tfidf_logreg]", "compress.methods=[]",
                  "audit.dynamics=false", "evaluate.bootstrap_samples=100",
                  "evaluate.latency_examples=4", "evaluate.throughput_batches=1",
                  "evaluate.repeats=1", "seed=7"]
LM = [*TINY_LM, "lm.models=[ngram,gpt]", "lm.scaling.enabled=false", "lm.gpt.train.epochs=2",
      "evaluate.latency_examples=4", "evaluate.throughput_batches=1", "evaluate.repeats=1",
      "seed=7"]


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    print(f"stopped and resumed: {SURVIVED} (exit 130: {HANDLED}); stages that carried the "
          f"cost of stopped attempts: {len(CARRIED)} ({sum(CARRIED.values()):.1f} s)")


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    """A labelled CSV with a quarter of its labels flipped (the models disagree and score
    below 1, so equal metrics mean something) and a tiny LM corpus."""
    folder = tmp_path_factory.mktemp("sources")
    frame = make_frame(120)
    rng = random.Random(0)
    flipped = [i for i in range(len(frame)) if rng.random() < 0.25]
    frame.loc[flipped, "label"] = frame.loc[flipped, "label"].map({"pos": "neg", "neg": "pos"})
    frame.to_csv(folder / "reviews.csv", index=False)
    corpus = folder / "dialogs.txt"
    corpus.write_text("\n".join(line.replace("\n", " ") for line in make_corpus(300)))
    return {"classification": folder / "reviews.csv", "lm": corpus}


def _args(kind: str, sources: dict[str, Path], attempts: Attempts) -> list[str]:
    settings = LM if kind == "lm" else CLASSIFICATION
    return ["run", *settings, f"data.source={sources[kind]}", f"output_dir={attempts.out}"]


@pytest.fixture(scope="module")
def clean(tmp_path_factory, sources):
    """The uninterrupted run of a task, made when first asked for: (record, seconds, files
    it opened to write)."""
    made = {}

    def get(kind: str) -> tuple[dict, float, int]:
        if kind not in made:
            attempts = Attempts(tmp_path_factory.mktemp(f"clean-{kind}"))
            count = attempts.folder / "writes"
            done = attempts.one(_args(kind, sources, attempts), count_to=count)
            assert done.exitcode == 0, attempts.log.read_text()[-3000:]
            made[kind] = (_record(attempts), done.seconds, int(count.read_text()))
        return made[kind]
    return get


def _record(attempts: Attempts) -> dict:
    return json.loads((attempts.out / attempts.run_id() / "record.json").read_text())


def _results(record: dict) -> dict:
    """What a run found: every score on dev and test, trials, seeds, baselines, splits."""
    return {
        "models": {m["name"]: {k: m.get(k) for k in ("dev", "test", "confusion_matrix",
                                                     "labels", "params_total")}
                   for m in record["models"]},
        "baselines": record.get("baselines"),
        "trials": {f: [(t["params"], t["score"]) for t in s["trials"]]
                   for f, s in (record.get("search") or {}).items()},
        "seeds": {f: [{k: v for k, v in p.items() if k.startswith(("seed", "dev_", "test_"))}
                      for p in s["per_seed"]] for f, s in (record.get("seed_runs") or {}).items()},
        "split": {k: v for k, v in record["data"]["split"].items() if "size" in k or k == "method"},
        "test_evaluations": record["test_evaluations"], "tested": sorted(record["tested"]),
    }


def _survive(kind: str, how: str, stops: int, sources, clean, folder: Path) -> int:
    """Stop runs ``stops`` times in all (``how``: kill, term or disk) at seeded random
    moments, resuming after each; a run that ends before its moment is checked and the
    next stop lands in a new run. Returns the number of runs."""
    record, seconds, writes = clean(kind)
    rng = random.Random(f"{kind}-{how}")
    stopped, runs = 0, 0
    while stopped < stops:
        runs += 1
        attempts = Attempts(folder / f"run{runs}")
        first = _args(kind, sources, attempts)
        while stopped < stops and not _completed(attempts):
            if how == "disk":
                done = attempts.one(first, full_disk_after=rng.randint(0, writes))
                assert done.exitcode in (0, 2), attempts.log.read_text()[-3000:]
                stopped += done.exitcode == 2
                continue
            resumed = bool(attempts.run_id())
            done = attempts.one(first, stop_after=rng.uniform(0, _left(attempts, record, seconds)),
                                how=how)
            if done.exitcode == 0 and not resumed:  # a whole run took this long just now
                seconds = min(seconds, done.seconds)
            # SIGTERM: exit 130 once the CLI's handler is in place (-15 in the first
            # milliseconds, before it is); never a traceback (exit 1)
            assert done.exitcode in (0, -9, -15, 130), (done, attempts.log.read_text()[-3000:])
            stopped += done.stopped is not None
            HANDLED[how] = HANDLED.get(how, 0) + (done.exitcode == 130)
            if done.stopped and attempts.run_id():  # listed as stopped, never as running
                listed = store.list_runs(attempts.out)[0]["status"]
                assert listed in ("failed", "interrupted", "completed"), listed
        if not _completed(attempts):
            done = attempts.one(first)
            assert done.exitcode == 0, attempts.log.read_text()[-3000:]
        _check(attempts, record)
    SURVIVED[f"{kind} {how}"] = stopped
    return runs


def _completed(attempts: Attempts) -> bool:
    return bool(attempts.run_id()) and _record(attempts)["status"] == "completed"


def _check(attempts: Attempts, record: dict) -> None:
    final = _record(attempts)
    assert final["status"] == "completed"
    assert store.list_runs(attempts.out)[0]["status"] == "completed"
    assert _results(final) == _results(record)
    assert len(set(final["tested"])) == len(final["tested"])  # each scored on test once
    _check_footprint(final, attempts)
    _check_whole(attempts.out / attempts.run_id())


def _left(attempts: Attempts, clean: dict, clean_seconds: float) -> float:
    """About how long the rest of the run takes: the uninterrupted run's time times the
    share of its stages' time that this run has still to do."""
    finished = {s["name"] for s in _record(attempts)["stages"] if s["status"] == "ok"} \
        if attempts.run_id() else set()
    total = sum(s["duration_s"] for s in clean["stages"])
    done = sum(s["duration_s"] for s in clean["stages"] if s["name"] in finished)
    return max(0.2, clean_seconds * (1 - done / total))


def _check_footprint(final: dict, attempts: Attempts) -> None:
    """Each stage holds at least the running totals its stopped attempts saved (a stopped
    attempt loses at most one saving interval of its stage; the time outside stages, such
    as start-up, is in no stage's footprint, stopped or not)."""
    stages = {s["name"]: s for s in final["stages"]}
    for done in attempts.done:
        for name, saved in done.progress.items():
            assert name in stages, (name, list(stages))
            assert stages[name]["duration_s"] >= saved - 1e-6, (name, saved, stages[name])
            earlier = stages[name]["energy_detail"].get("earlier_attempts")
            assert earlier and earlier["duration_s"] >= saved - 1e-6, (name, saved, earlier)
            CARRIED[name] = max(CARRIED.get(name, 0.0), saved)


def _check_whole(run_dir: Path) -> None:
    """No half-written artifact: every JSON parses, every model folder loads, no
    temporary file or folder is left."""
    from greennlp.models.loading import load_model

    for path in run_dir.rglob("*.json"):
        json.loads(path.read_text())
    left = [p for p in run_dir.rglob("*") if p.name.endswith((".tmp", ".old"))]
    assert not left, left
    for meta in run_dir.rglob("greennlp_model.json"):
        load_model(meta.parent)
    assert "</html>" in (run_dir / "report.html").read_text()[-200:]


def test_sigkill_anywhere_in_a_classification_run(sources, clean, tmp_path):
    _survive("classification", "kill", 20, sources, clean, tmp_path)


def test_sigterm_anywhere_in_a_classification_run(sources, clean, tmp_path):
    _survive("classification", "term", 5, sources, clean, tmp_path)
    assert HANDLED["term"] >= 1  # stopped as Ctrl-C stops a run: its state saved


def test_a_full_disk_anywhere_in_a_classification_run(sources, clean, tmp_path):
    _survive("classification", "disk", 5, sources, clean, tmp_path)


def test_sigkill_anywhere_in_an_lm_run(sources, clean, tmp_path):
    _survive("lm", "kill", 5, sources, clean, tmp_path)
