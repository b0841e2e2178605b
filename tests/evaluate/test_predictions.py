"""Predictions made once: the same weights never score the same texts twice, and nothing
else is ever reused."""

import numpy as np
import pytest
import torch

from greennlp.config import EvaluateConfig, TrainConfig, TransformerConfig
from greennlp.data.split import Splits
from greennlp.evaluate import EVAL_BATCH_SIZE, score_split
from greennlp.evaluate.predictions import forget, predict_once
from greennlp.models.classifier import EncoderClassifier
from greennlp.models.encoder import build_scratch_encoder
from greennlp.models.int8 import TorchInt8Classifier, quantize_linear_int8
from greennlp.train.classifiers import fit_encoder

TINY = TransformerConfig(num_layers=1, hidden_size=16, num_heads=2, intermediate_size=32,
                         vocab_size=200, max_length=16, dropout=0.0)


@pytest.fixture
def calls(monkeypatch):
    """Counts the real prediction passes of encoder classifiers."""
    forget()
    seen = []
    real = EncoderClassifier.predict_proba

    def counted(self, texts, batch_size=32):
        seen.append((len(texts), batch_size))
        return real(self, texts, batch_size)
    monkeypatch.setattr(EncoderClassifier, "predict_proba", counted)
    yield seen
    forget()


def _model(frame, seed=0):
    return build_scratch_encoder(TINY, frame["text"], ["neg", "pos"], seed=seed)


def test_the_same_weights_predict_the_same_texts_once(frame, calls, tmp_path):
    model, texts = _model(frame), frame["text"][:30].tolist()
    first = predict_once(model, texts, 32)
    again = predict_once(model, texts, 32)
    assert len(calls) == 1
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, model.predict_proba(texts, 32))
    model.save(tmp_path / "m")  # what was saved predicts what was remembered
    np.testing.assert_array_equal(predict_once(EncoderClassifier.load(tmp_path / "m"), texts, 32),
                                  first)
    assert len(calls) == 2  # the direct predict_proba above; the reloaded copy reused


def test_other_weights_texts_or_batch_size_predict_again(frame, calls):
    model, texts = _model(frame), frame["text"][:30].tolist()
    before = predict_once(model, texts, 32)
    predict_once(model, texts, 16)
    predict_once(model, texts[:29], 32)
    predict_once(_model(frame, seed=1), texts, 32)
    assert len(calls) == 4
    with torch.no_grad():
        model.model.classifier.bias.add_(1.0)  # one changed weight is another model
    after = predict_once(model, texts, 32)
    assert len(calls) == 5 and not np.array_equal(before, after)


def test_a_copy_is_returned(frame, calls):
    model, texts = _model(frame), frame["text"][:10].tolist()
    predict_once(model, texts, 32)[:] = 0.0
    assert predict_once(model, texts, 32).sum() == pytest.approx(10.0)


def test_models_without_a_fingerprint_predict_every_time(frame, calls):
    model = _model(frame)
    int8 = TorchInt8Classifier(quantize_linear_int8(model.model), model.tokenizer, model.labels,
                               model.max_length, model.family, model.parameter_counts())
    assert int8.fingerprint() is None
    texts = frame["text"][:10].tolist()
    predict_once(int8, texts, 32)
    predict_once(int8, texts, 32)
    assert len(calls) == 2


def test_evaluation_reuses_the_dev_pass_of_the_best_epoch(frame, calls, tmp_path):
    splits = Splits(frame.iloc[:160].reset_index(drop=True),
                    frame.iloc[160:200].reset_index(drop=True),
                    frame.iloc[200:].reset_index(drop=True))
    cfg = TrainConfig(epochs=3, batch_size=16, lr=3e-3, patience=3, min_steps=0)
    model, info = fit_encoder(_model(splits.train), cfg, splits, 0, tmp_path, desc="t")
    dev_passes = [c for c in calls if c == (len(splits.dev), EVAL_BATCH_SIZE)]
    assert len(dev_passes) == info["epochs_run"] == 3  # one selection pass per epoch
    scored = score_split(model, splits.dev, EvaluateConfig(bootstrap_samples=100))
    assert len(calls) == 3  # the final weights are the best epoch's: no new pass
    np.testing.assert_array_equal(scored["proba"], model.predict_proba(splits.dev["text"], 32))
