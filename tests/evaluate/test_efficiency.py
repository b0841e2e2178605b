import statistics
import time

import pytest

from greennlp.evaluate.efficiency import folder_size_mb, measure_speed


def _median_sleep(seconds: float, n: int = 9) -> float:
    """What ``time.sleep(seconds)`` takes in this process now, median of ``n``."""
    took = []
    for _ in range(n):
        t0 = time.perf_counter()
        time.sleep(seconds)
        took.append(time.perf_counter() - t0)
    return statistics.median(took)


def test_latency_and_throughput_of_a_known_predictor():
    """A predictor that sleeps a known time per call and per text.

    Robust on a loaded machine: sleep never returns early, so each timing has a hard bound
    on one side; on the other it is compared with the same sleeps timed in this process
    (a loaded machine slows both alike), with room for a 4x difference, while the
    mistakes it guards against (a total instead of a mean, batches counted as examples)
    are off by 10x or more. The calls themselves are checked exactly.
    """
    per_call, per_item = 0.002, 0.0001
    calls = []

    def predict(texts, batch_size):
        calls.append((len(texts), batch_size))
        time.sleep(per_call + per_item * len(texts))

    out = measure_speed(predict, ["a", "b"], latency_examples=10, throughput_batches=2, repeats=3)
    # three warm-ups of each kind, then per repeat 10 single texts and one call of 2 x 32 texts
    assert calls == [(1, 1), (32, 32)] * 3 + ([(1, 1)] * 10 + [(64, 32)]) * 3
    single_s, bulk_s = per_call + per_item, per_call + 64 * per_item
    ref_single_s, ref_bulk_s = _median_sleep(single_s), _median_sleep(bulk_s)
    assert 1e3 * single_s <= out["latency_ms_b1"] <= 4 * 1e3 * ref_single_s
    assert 1e3 * single_s <= out["latency_ms_b1_p90"]
    assert 64 / (4 * ref_bulk_s) <= out["throughput_b32"] <= 64 / bulk_s
    # batching pays: a text costs less inside a batch of 32 than alone
    assert 1e3 / out["throughput_b32"] < out["latency_ms_b1"]
    assert out["timing_repeats"] == 3


def test_folder_size(tmp_path):
    (tmp_path / "a").write_bytes(b"x" * 1_000_000)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_bytes(b"x" * 500_000)
    assert folder_size_mb(tmp_path) == pytest.approx(1.5)
