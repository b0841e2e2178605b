"""Early-stopped seeds (seeds.strategy=early_stopped) and training on less data
(train.data_fraction / train.data_ranking), each in one tiny run."""

import numpy as np
import pytest

from greennlp import tasks
from greennlp.report import checklist
from greennlp.tasks import load_config
from tests.conftest import TINY_OVERRIDES


def _run(csv_path, tmp_path, *extra):
    cfg = load_config(None, [f"data.source={csv_path}", "data.group_column=movie",
                             f"output_dir={tmp_path / 'runs'}", *TINY_OVERRIDES, *extra])
    return tasks.execute(tasks.start(cfg, log=lambda m: None))


@pytest.mark.integration  # 10 short trainings: about a minute on 2 busy cores
def test_early_stopped_seeds_keep_the_best_and_record_the_stopped_ones(csv_path, tmp_path):
    record = _run(csv_path, tmp_path, "models=[transformer]", "transformer.train.epochs=4",
                  "transformer.train.patience=4", "seeds.models=[transformer]", "seeds.count=5",
                  "seeds.strategy=early_stopped", "seeds.keep=2", "seeds.score_after=0.125")
    runs = record.seed_runs["transformer"]
    assert runs.strategy == "early_stopped" and runs.scored_after_epochs == 0.5
    early = [s for s in record.stages if s.name.endswith(":early")]
    assert len(early) == 4  # every seed but the final model's, scored halfway through epoch 1
    assert all(s.metrics["epochs_run"] == 0.5 and s.metrics["steps"] >= 1 for s in early)
    full = runs.per_seed[1:]
    # the final model has no score half an epoch in, so it is not ranked: 2 others go on
    assert len(full) == 2 and len(runs.stopped) == 2
    assert all(s.epochs_run == 0.5 for s in runs.stopped)
    # the continued seeds were the best on dev when scored
    early_dev = {s.metrics["seed"]: s.metrics["dev_accuracy"] for s in early}
    assert min(early_dev[r.seed] for r in full) >= max(s.dev_accuracy for s in runs.stopped)
    assert all(r.epochs_run == 4 or r.epochs_run is None for r in full)
    # statistics over the seeds trained to the end only; stopped seeds were never tested
    assert runs.summary["dev_accuracy"].n == len(runs.per_seed)
    assert record.test_evaluations - record.audit_test_evaluations == 1 + len(full)
    # the record keeps every seed's cost, and the all-to-the-end estimate is larger
    stages = [s.name for s in early] + [r.stage for r in full]
    assert runs.cost["cpu_time_s"] == pytest.approx(
        sum(record.stage(n).cpu_time_s for n in stages))
    assert runs.all_to_end_cost["energy_kwh"] > runs.cost["energy_kwh"]
    answers = {i["item"]: i["answer"] for i in checklist.fill(record)}
    assert any("early-stopped" in a for a in answers.values())
    html = (tmp_path / "runs" / record.run_id / "report.html").read_text()
    assert "early-stopped" in html


def test_training_on_a_ranked_half_of_the_data(csv_path, tmp_path):
    record = _run(csv_path, tmp_path, "models=[tfidf_logreg]", "audit.dynamics=true",
                  "audit.dynamics_epochs=2", "audit.probe_size=5", "train.data_fraction=0.5",
                  "train.data_ranking=el2n")
    subset = record.data["train_subset"]
    train_size = record.data["split"]["sizes"]["train"]
    assert subset["of"] == train_size and subset["kept"] == pytest.approx(train_size / 2, abs=1)
    assert subset["ranking"] == "el2n" and subset["ranking_cost"]["cpu_time_s"] > 0
    kept = np.load(tmp_path / "runs" / record.run_id / "data" / "train_subset.npy")
    assert len(kept) == subset["kept"] and len(set(kept.tolist())) == len(kept)
    card = (tmp_path / "runs" / record.run_id / "MODEL_CARD.md").read_text()
    assert "50%" in card and "el2n" in card
