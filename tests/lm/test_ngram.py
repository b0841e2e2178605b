import math

import numpy as np
import pytest

from greennlp.evaluate.perplexity import lm_scores
from greennlp.models.ngram import KneserNeyLM

E, A, B, C, UNUSED = range(5)
DOCS = [[A, B], [A, C], [B]]


def test_bigram_with_a_fixed_discount_matches_the_hand_computed_case():
    # Padded with one end-of-text: bigram counts (E,a)=2 (a,b)=1 (a,c)=1 (b,E)=2 (c,E)=1
    # (E,b)=1; continuation counts a:1 b:2 c:1 E:2 (total 6); D = 0.5, V = 5.
    # P1(w) = max(N(w) - .5, 0) / 6 + (.5 * 4 / 6) / 5  ->  a, c: 9/60; b, E: 19/60; unused: 4/60
    lm = KneserNeyLM(order=2, discount=0.5).fit(DOCS, vocab_size=5, eos_id=E)
    unigram = np.array([19, 9, 19, 9, 4]) / 60
    np.testing.assert_allclose(lm.distribution([UNUSED]), unigram)  # unseen context: back off
    # c(a .) = 2 with two distinct followers: gamma = .5 * 2 / 2
    np.testing.assert_allclose(lm.distribution([A]), np.array([19, 9, 49, 39, 4]) / 120)
    # c(E .) = 3, two followers: P(a | E) = 1.5 / 3 + (1/3)(9/60)
    assert lm.distribution([])[A] == pytest.approx(0.55)
    # document [a, b]: P(a|E) P(b|a) P(E|b), with P(E|b) = 1.5 / 2 + .25 * 19/60
    expected = -(math.log(0.55) + math.log(49 / 120) + math.log(199 / 240))
    assert lm.document_nll([[A, B]])[0] == pytest.approx(expected)


@pytest.mark.parametrize("order", [1, 2, 3, 5])
@pytest.mark.parametrize("discount", [None, 0.75])
def test_probabilities_sum_to_one_over_the_vocabulary(order, discount):
    rng = np.random.default_rng(order)
    docs = [list(rng.integers(3, 40, size=rng.integers(1, 15))) for _ in range(300)]
    lm = KneserNeyLM(order, discount).fit(docs, vocab_size=40, eos_id=0, exclude=[1, 2])
    for context in ([], [5], [5, 7, 9], docs[0], [39, 38, 37, 36]):
        p = lm.distribution(context)
        assert p.sum() == pytest.approx(1.0, abs=1e-12)
        assert p[1] == p[2] == 0.0 and np.all(p[3:] > 0)
    if discount is None and order > 1:  # modified KN: three discounts per order, in range
        assert all(0 <= d[1] <= 1 and 0 <= d[2] <= 2 and 0 <= d[3] <= 3 for d in lm.discounts_)


def test_document_scores_agree_with_the_distribution():
    rng = np.random.default_rng(0)
    docs = [list(rng.integers(1, 20, size=rng.integers(1, 10))) for _ in range(200)]
    lm = KneserNeyLM(3).fit(docs, vocab_size=20, eos_id=0)
    doc = [3, 4, 5, 19, 2]
    logp = lm.token_log_probs([doc])[0]
    for i, w in enumerate(doc + [0]):
        assert logp[i] == pytest.approx(math.log(lm.distribution(doc[:i])[w]))


def test_uniform_model_perplexity_is_the_vocabulary_size():
    docs = [[3, 4, 5], [6], [7, 8]]
    lm = KneserNeyLM(order=0).fit(docs, vocab_size=50, eos_id=0, exclude=[1, 2])
    nll = lm.document_nll(docs)
    scores = lm_scores(nll, np.array([len(d) + 1 for d in docs]), None, n_samples=100)
    assert scores["perplexity"]["value"] == pytest.approx(48.0)  # 50 ids, 2 never predicted


def test_more_context_fits_repetitive_text_better_and_round_trips(tmp_path):
    docs = [[1, 2, 3, 4, 5, 6]] * 50 + [[6, 5, 4, 3, 2, 1]] * 50
    held_out = [[1, 2, 3, 4, 5, 6]]
    nll = {n: KneserNeyLM(n).fit(docs, 8, 0).document_nll(held_out)[0] for n in (1, 2, 4)}
    assert nll[4] < nll[2] < nll[1]
    lm = KneserNeyLM(4).fit(docs, 8, 0)
    again = KneserNeyLM.load(lm.save(tmp_path / "kn"))
    assert again.document_nll(held_out)[0] == pytest.approx(lm.document_nll(held_out)[0])
    assert again.parameter_counts() == lm.parameter_counts()
