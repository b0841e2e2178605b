"""Every runtime the frontier plan may pick, on a tiny trained classifier: built, close to
the torch model, saved and reopened by greennlp's loader (OpenVINO where installed)."""

from __future__ import annotations

import numpy as np
import pytest

from greennlp.compress import runtimes as rt
from greennlp.models import load_model


SLOW = pytest.mark.integration  # OpenVINO's conversion and NNCF take 20-40 s each here
KINDS = [pytest.param(k, marks=SLOW) if k.startswith("openvino") else k for k in rt.RUNTIMES]


@pytest.mark.parametrize("kind", KINDS)
def test_each_runtime_predicts_like_the_torch_model_and_reopens(kind, trained, splits, tmp_path):
    why = rt.available_runtimes()[kind]
    if why:
        pytest.skip(why)
    texts = splits.dev["text"].tolist()
    model = rt.build(trained, kind, tmp_path / "build", splits.train["text"].tolist())
    reference = trained.predict_proba(texts)
    proba = model.predict_proba(texts)
    tolerance = 1e-4 if kind == "onnx-fp32" else 0.1  # int8 (and OpenVINO's bf16) round
    assert np.abs(proba - reference).max() < tolerance
    assert np.mean(proba.argmax(1) == reference.argmax(1)) >= 0.9
    folder = model.save(tmp_path / "saved")
    np.testing.assert_allclose(load_model(folder).predict_proba(texts), proba, atol=1e-5)
    assert model.flops_per_example(texts) == trained.flops_per_example(texts)


@SLOW
def test_an_openvino_variant_exports_only_as_openvino(trained, tmp_path):
    from greennlp.compress.export import why_not

    if rt.available_runtimes()["openvino-fp32"]:
        pytest.skip("OpenVINO is not installed")
    model = rt.build(trained, "openvino-fp32", tmp_path / "ov", ["a text", "another"])
    assert why_not(model, "m", "openvino") is None
    assert "--format openvino" in why_not(model, "m", "onnx")
    assert "not an OpenVINO model" in why_not(trained, "m", "openvino")
