"""The same search on a local Ray instance (Ray Tune, with Ray's ASHA scheduler)."""

import pytest

from greennlp import tasks
from greennlp.tasks import load_config
from tests.conftest import TINY_OVERRIDES

ray = pytest.importorskip("ray")


@pytest.fixture
def local_ray(monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    yield
    ray.shutdown()


@pytest.mark.integration  # starts a Ray instance (~20 s); CI runs it
def test_asha_search_runs_on_ray_and_records_worker_energy(csv_path, tmp_path, local_ray):
    cfg = load_config(None, [f"data.source={csv_path}", "data.group_column=movie",
                             f"output_dir={tmp_path / 'runs'}", *TINY_OVERRIDES,
                             "models=[transformer]", "search.enabled=true",
                             "search.executor=ray", "search.method=asha",
                             "search.families.tfidf_logreg=null",
                             "search.families.transformer.trials=3",
                             "search.families.transformer.max_epochs=2",
                             "search.families.transformer.space.hidden_size.values=[16]"])
    record = tasks.execute(tasks.start(cfg, log=lambda m: None))
    state = record.search["transformer"]
    assert state.status == "completed" and state.executor == "ray"
    trials = [s for s in record.stages if s.name.startswith("search:transformer:")]
    assert len(trials) == 3
    for s in trials:
        # measured inside the Ray worker process and carried back with the result
        assert s.energy_kwh > 0 and s.cpu_time_s > 0 and "estimate:tdp" in s.energy_method
        assert s.metrics["dev_score"] is not None
    assert record.model("transformer").training.selected_trial == state.best_trial
    assert record.status == "completed"
