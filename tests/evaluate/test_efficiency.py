import time

import pytest

from greennlp.evaluate.efficiency import folder_size_mb, measure_speed


def test_latency_and_throughput_of_a_known_predictor():
    per_call, per_item = 0.002, 0.0001

    def predict(texts, batch_size):
        time.sleep(per_call + per_item * len(texts))

    out = measure_speed(predict, ["a", "b"], latency_examples=10, throughput_batches=2, repeats=3)
    assert out["latency_ms_b1"] == pytest.approx(1e3 * (per_call + per_item), rel=0.5)
    expected = 64 / (per_call + per_item * 64)
    assert out["throughput_b32"] == pytest.approx(expected, rel=0.5)
    assert out["latency_ms_b1_p90"] >= out["latency_ms_b1"] * 0.8


def test_folder_size(tmp_path):
    (tmp_path / "a").write_bytes(b"x" * 1_000_000)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_bytes(b"x" * 500_000)
    assert folder_size_mb(tmp_path) == pytest.approx(1.5)
