"""int8 variants agree with the fp32 model within stated tolerances."""

import numpy as np
import pytest

from greennlp.compress.evaluation import fidelity
from greennlp.compress.onnx_int8 import OnnxRuntimeInt8
from greennlp.compress.quantize import TorchDynamicInt8
from greennlp.models.int8 import TorchInt8Classifier
from greennlp.models.onnx import OnnxClassifier

# Tiny H=16 models have few weights per output, so int8 rounding moves probabilities more
# than in real models; these bounds are loose for them and tight for MiniLM (see the
# fidelity recorded by every run).
INT8_MAX_ABS = 0.05
INT8_AGREEMENT = 0.95


def test_torch_int8_agrees_with_fp32_and_round_trips(trained, ctx, tmp_path):
    texts = ctx.splits.dev["text"].tolist()
    q = TorchDynamicInt8().compress(trained, ctx)
    ref, got = trained.predict_proba(texts), q.predict_proba(texts)
    fid = fidelity(ref, got)
    assert fid["agreement"] >= INT8_AGREEMENT and fid["max_abs_diff"] <= INT8_MAX_ABS
    assert fid["max_abs_diff"] > 0  # it really is a different (quantized) computation
    assert q.parameter_counts() == trained.parameter_counts()
    again = TorchInt8Classifier.load(q.save(tmp_path / "q"))
    assert np.allclose(again.predict_proba(texts), got, atol=1e-6)
    import torch

    assert any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in q.model.modules())


@pytest.mark.parametrize("fused", [True, False])
def test_onnx_fp32_export_matches_torch(trained, ctx, fused):
    texts = ctx.splits.dev["text"].tolist()
    onnx = OnnxRuntimeInt8(fused=fused, quantized=False).compress(trained, ctx)
    fid = fidelity(trained.predict_proba(texts), onnx.predict_proba(texts))
    assert fid["agreement"] == 1.0 and fid["max_abs_diff"] < 1e-4


def test_onnx_int8_agrees_with_fp32_and_round_trips(trained, ctx, tmp_path):
    texts = ctx.splits.dev["text"].tolist()
    onnx = OnnxRuntimeInt8().compress(trained, ctx)
    got = onnx.predict_proba(texts)
    fid = fidelity(trained.predict_proba(texts), got)
    assert fid["agreement"] >= INT8_AGREEMENT and fid["max_abs_diff"] <= INT8_MAX_ABS
    import onnx as onnx_lib

    ops = {n.op_type for n in onnx_lib.load(str(onnx.path)).graph.node}
    assert "SkipLayerNormalization" in ops and "QAttention" in ops  # fused, then quantized
    assert ops & {"MatMulInteger", "DynamicQuantizeMatMul"}
    again = OnnxClassifier.load(onnx.save(tmp_path / "o"))
    assert np.allclose(again.predict_proba(texts), got, atol=1e-6)
    assert again.flops_per_example(texts) == pytest.approx(trained.flops_per_example(texts))
    # Batch size does not change the answer (padding is masked).
    assert np.allclose(onnx.predict_proba(texts, 1), got, atol=1e-4)
