"""Vocabulary trimming: the texts it was trimmed on predict exactly as before, unseen
words still split into known pieces, BPE vocabularies are left whole."""

from __future__ import annotations

import numpy as np

from greennlp.compress.vocab import trim_vocabulary
from greennlp.models import load_model
from greennlp.models.pretrained import load_pretrained
from tests.models.tiny_hf import make_tiny_encoder

SEEN = ["a moving witty film with a lovely story", "dull tired and messy a boring plot"]


def test_trimmed_model_keeps_its_predictions_on_the_texts_it_saw(tmp_path):
    clf = load_pretrained(str(make_tiny_encoder("bert", tmp_path / "bert")), ["n", "p"], 32)
    trimmed, facts = trim_vocabulary(clf, SEEN)
    assert facts["trimmed"] and facts["vocab_after"] < facts["vocab_before"]
    assert facts["params_after"] < facts["params_before"]
    np.testing.assert_allclose(trimmed.predict_proba(SEEN), clf.predict_proba(SEEN), atol=1e-6)
    # A number never seen still splits into its digits (single characters are kept).
    pieces = [trimmed.tokenizer.id_to_token(i) for i in trimmed.encode(["2024"])[0]]
    assert pieces == [clf.tokenizer.id_to_token(i) for i in clf.encode(["2024"])[0]]
    assert "[UNK]" not in pieces
    folder = trimmed.save(tmp_path / "trimmed")
    np.testing.assert_allclose(load_model(folder).predict_proba(SEEN),
                               trimmed.predict_proba(SEEN), atol=1e-6)


def test_a_bpe_vocabulary_is_left_whole(tmp_path):
    clf = load_pretrained(str(make_tiny_encoder("roberta", tmp_path / "rob")), ["n", "p"], 32)
    same, facts = trim_vocabulary(clf, SEEN)
    assert same is clf and not facts["trimmed"]


def test_the_student_keeps_a_trimmed_vocabulary_only_when_dev_accuracy_holds(tmp_path, ctx,
                                                                            monkeypatch):
    from greennlp.compress import student as student_module
    from greennlp.compress.base import Context
    from greennlp.compress.student import StructuredPruner
    from greennlp.data.split import Splits

    clf = load_pretrained(str(make_tiny_encoder("bert", tmp_path / "bert")),
                          ctx.splits.labels, 32)
    trimmed, facts = StructuredPruner._trim(clf, ctx, [], max_drop_points=100.0)
    assert trimmed is not clf and facts["trimmed"]
    assert 0.0 <= facts["dev_agreement_with_untrimmed"] <= 1.0
    assert "dev_accuracy_change_points" in facts
    # the augmented texts the student was distilled on keep their tokens too
    few = Context(Splits(ctx.splits.train.iloc[:2], ctx.splits.dev, ctx.splits.test), 0,
                  tmp_path, log=lambda m: None)
    _, alone = StructuredPruner._trim(clf, few, [], 100.0)
    _, wider = StructuredPruner._trim(clf, few, ctx.splits.train["text"].tolist(), 100.0)
    assert wider["vocab_after"] > alone["vocab_after"]
    # a trimmed vocabulary that costs more dev accuracy than allowed is not kept
    scores = iter([0.80, 0.78])  # the untrimmed student's, then the trimmed one's
    monkeypatch.setattr(student_module, "dev_accuracy_of", lambda model, context: next(scores))
    whole, facts = StructuredPruner._trim(clf, ctx, [], max_drop_points=1.0)
    assert whole is clf and not facts["trimmed"] and "lost 2.00 dev points" in facts["why"]
