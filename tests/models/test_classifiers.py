import numpy as np
import pytest

from greennlp.config import TfidfConfig, TransformerConfig
from greennlp.errors import UserError
from greennlp.models.classifier import EncoderClassifier
from greennlp.models.encoder import build_scratch_encoder, train_tokenizer
from greennlp.models.pretrained import minilm_dir
from greennlp.models.tfidf import TfidfLogReg

TINY = TransformerConfig(num_layers=1, hidden_size=16, num_heads=2, intermediate_size=32,
                         vocab_size=200, max_length=16)


def test_tokenizer_is_trained_on_the_given_texts(frame):
    tok = train_tokenizer(frame["text"], vocab_size=150)
    enc = tok.encode("good film")
    assert enc.tokens[0] == "[CLS]" and enc.tokens[-1] == "[SEP]"
    assert "good" in tok.get_vocab() and tok.get_vocab_size() <= 150


def test_tokenizer_training_is_deterministic(frame):
    vocabs = [train_tokenizer(frame["text"], vocab_size=150).get_vocab() for _ in range(5)]
    assert all(v == vocabs[0] for v in vocabs)


def test_a_learned_tokenizer_is_learned_once_and_returned_as_a_new_object(frame, monkeypatch):
    from greennlp.models import encoder

    learned = []
    real = encoder._learn_tokenizer
    monkeypatch.setattr(encoder, "_learn_tokenizer", lambda *a: learned.append(a) or real(*a))
    texts = frame["text"].tolist() + ["a text no other call has seen"]
    first = train_tokenizer(texts, vocab_size=150)
    first.enable_truncation(4)  # a caller's setting stays with its own object
    again = train_tokenizer(texts, vocab_size=150)
    other = train_tokenizer(texts, vocab_size=140)
    assert len(learned) == 2 and again is not first
    assert again.get_vocab() == first.get_vocab() and again.truncation is None
    assert other.get_vocab_size() <= 140


def test_encode_once_gives_what_encode_gives(frame):
    model = build_scratch_encoder(TINY, frame["text"], ["neg", "pos"], seed=0)
    texts = frame["text"].tolist()
    assert model.encode_once(texts) == model.encode(texts) == model.encode_once(texts)
    model.tokenizer.enable_truncation(4)  # another truncation is another tokenizer
    assert max(len(x) for x in model.encode_once(texts)) == 4


def test_fingerprint_follows_the_weights_not_the_object(tmp_path, frame):
    model = build_scratch_encoder(TINY, frame["text"], ["neg", "pos"], seed=0)
    model.save(tmp_path / "m")
    assert EncoderClassifier.load(tmp_path / "m").fingerprint() == model.fingerprint()
    assert build_scratch_encoder(TINY, frame["text"], ["neg", "pos"], seed=1).fingerprint() \
        != model.fingerprint()


def test_encoder_checkpoint_rebuilds_the_same_model(tmp_path, frame):
    model = build_scratch_encoder(TINY, frame["text"], ["neg", "pos"], seed=0)
    texts = frame["text"][:20].tolist()
    before = model.predict_proba(texts)
    model.save(tmp_path / "ckpt")
    loaded = EncoderClassifier.load(tmp_path / "ckpt")
    np.testing.assert_allclose(loaded.predict_proba(texts), before, atol=1e-6)
    assert loaded.labels == ["neg", "pos"] and loaded.max_length == 16


def test_predictions_do_not_depend_on_batching(frame):
    model = build_scratch_encoder(TINY, frame["text"], ["neg", "pos"], seed=0)
    texts = frame["text"][:37].tolist()
    np.testing.assert_allclose(model.predict_proba(texts, 1), model.predict_proba(texts, 16), atol=1e-5)


def test_long_texts_are_truncated(frame):
    model = build_scratch_encoder(TINY, frame["text"], ["neg", "pos"], seed=0)
    assert max(len(x) for x in model.encode(["good " * 100])) == 16


def test_heads_must_divide_hidden():
    from greennlp.tasks import load_config

    # Rejected when the configuration is loaded, before any data is read.
    with pytest.raises(UserError, match="divisible"):
        load_config(None, ["transformer.hidden_size=30"])


def test_tfidf_roundtrip(tmp_path, frame):
    model = TfidfLogReg(TfidfConfig(min_df=1)).fit(frame["text"], frame["label"])
    model.save(tmp_path)
    again = TfidfLogReg.load(tmp_path)
    np.testing.assert_array_equal(again.predict_proba(frame["text"]), model.predict_proba(frame["text"]))
    assert model.labels == ["neg", "pos"]


@pytest.mark.skipif(minilm_dir() is None, reason="pretrained extra not installed")
def test_minilm_loads_offline_with_a_new_head():
    from greennlp.models.pretrained import load_minilm

    model = load_minilm(["neg", "pos", "mid"], max_length=32)
    assert 22_000_000 < model.parameter_counts()["total"] < 23_000_000
    assert model.predict_proba(["a fine film"]).shape == (1, 3)


def test_a_tfidf_fit_is_reused_only_for_the_same_inputs(frame, monkeypatch):
    from sklearn.pipeline import Pipeline

    fits = []
    real = Pipeline.fit
    monkeypatch.setattr(Pipeline, "fit", lambda self, *a, **k: fits.append(1) or real(self, *a, **k))
    texts, labels = frame["text"].tolist() + ["unseen text"], frame["label"].tolist() + ["pos"]
    first = TfidfLogReg(TfidfConfig(min_df=1), seed=0).fit(texts, labels)
    again = TfidfLogReg(TfidfConfig(min_df=1), seed=7).fit(texts, labels)  # lbfgs: no randomness
    assert len(fits) == 1 and again.pipeline_ is not first.pipeline_
    np.testing.assert_array_equal(again.predict_proba(texts), first.predict_proba(texts))
    TfidfLogReg(TfidfConfig(min_df=1, C=1.0), seed=0).fit(texts, labels)
    TfidfLogReg(TfidfConfig(min_df=1), seed=0).fit(texts, labels[:-1] + ["neg"])
    assert len(fits) == 3
