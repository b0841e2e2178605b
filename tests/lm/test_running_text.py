"""Language models on running text: documents as paragraphs, scoring with context."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers

from greennlp.config import DataConfig
from greennlp.config.lm import LmEvaluationConfig
from greennlp.data import prepare
from greennlp.evaluate.lm_eval import evaluate_lm, leading_index
from greennlp.evaluate.perplexity import text_blocks
from greennlp.models.lm_tokenizer import (
    EOS,
    LmTokenizer,
    join_documents,
    sliding_windows,
)
from greennlp.models.neural_lm import NeuralLM
from greennlp.models.ngram import KneserNeyLM
from tests.lm.conftest import make_paragraphs, wrapped_text

ECFG = SimpleNamespace(bootstrap_samples=200, confidence=0.95)
WORDS = [f"w{i}" for i in range(5)]
Q = 0.9  # the oracle's probability for the token it expects
V = len(WORDS) + 1


def test_a_wrapped_text_file_gives_one_document_per_paragraph(tmp_path):
    paragraphs = make_paragraphs(90)
    path = tmp_path / "novel.txt"
    path.write_text(wrapped_text(paragraphs))
    assert path.read_text().count("\n") > 2 * len(paragraphs)  # wrapped: many lines each
    corpus = DataConfig(source=str(path), split="blocks", block_documents=10)
    splits, data = prepare(corpus, 0, labels=False, running_text=True)
    docs = splits.texts("train") + splits.texts("dev") + splits.texts("test")
    assert data["cleaning"]["rows_out"] == len(docs) == len(set(paragraphs))
    assert {" ".join(d.split()) for d in docs} == set(paragraphs)  # wrapping kept, no cut
    assert any("Anna" in d for d in docs)  # case kept
    assert "blank lines" in data["documents_found"]
    _by_line, data = prepare(DataConfig(source=str(path), split="blocks", block_documents=10,
                                        documents="lines"), 0, labels=False, running_text=True)
    assert data["documents_found"] == "one per line"
    assert data["cleaning"]["rows_out"] > 2 * len(paragraphs)


@pytest.mark.parametrize("n,window,stride", [(2, 2, 1), (10, 4, 2), (11, 4, 3), (50, 8, 7),
                                             (5, 16, 4)])
def test_sliding_windows_score_each_token_once_with_context(n, window, stride):
    scored = np.zeros(n, dtype=int)
    for begin, end, first in sliding_windows(n, window, stride):
        assert end - begin <= window and first > begin
        scored[first:end] += 1
        if begin > 0:
            assert first - begin >= window - stride  # context of the first token scored
    assert scored[0] == 0 and np.all(scored[1:] == 1)


class CycleOracle(torch.nn.Module):
    """Knows the text: words cycle w0 w1 ... w4 w0 ... across documents of three words.

    From the tokens it can see it expects the next one with probability Q: after a word,
    the next word, or the end-of-text once three words followed an end-of-text it sees;
    after an end-of-text, the word after the last word it sees. Where it cannot tell (no
    word before an end-of-text, or no end-of-text before a word), it is uniform.
    """

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids):
        batch, width = input_ids.shape
        logits = torch.zeros(batch, width, V)
        for b in range(batch):
            row = input_ids[b].tolist()
            for t in range(width):
                expect = self._expect(row[:t + 1])
                if expect is not None:
                    probs = torch.full((V,), (1 - Q) / (V - 1))
                    probs[expect] = Q
                    logits[b, t] = probs.log()
        return SimpleNamespace(logits=logits)

    @staticmethod
    def _expect(seen):
        successor = lambda w: 1 + w % len(WORDS)  # ids 1..5 are w0..w4
        if seen[-1] == 0:
            words = [t for t in seen if t != 0]
            return successor(words[-1]) if words else None
        if 0 not in seen:
            return None
        since = len(seen) - 1 - max(i for i, t in enumerate(seen) if t == 0)
        return 0 if since == 3 else successor(seen[-1])


def _oracle_lm():
    vocab = {EOS: 0, **{w: i + 1 for i, w in enumerate(WORDS)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token=EOS))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return NeuralLM(CycleOracle(), LmTokenizer(tok), "oracle", {}, None)


def _cycle_docs(n):
    return [" ".join(WORDS[(3 * i + k) % 5] for k in range(3)) for i in range(n)]


def test_both_protocols_on_a_text_whose_answer_is_known():
    """Alone, each document's first word is a guess (ln 6 nats) and the rest cost -ln Q
    each; as running text only the very first word is a guess. A window of two tokens
    (one of context) sees no end-of-text before a word, so everything is a guess."""
    docs, lm, n = _cycle_docs(12), _oracle_lm(), 12
    chars = sum(len(d) + 1 for d in docs)
    guess, sure = math.log(V), -math.log(Q)
    alone = evaluate_lm(lm, [], docs, np.arange(3), ECFG, 0,
                        protocol=LmEvaluationConfig(protocol="documents"))
    np.testing.assert_allclose(alone["nll"][0], guess + 3 * sure, rtol=1e-5)
    stream = evaluate_lm(lm, [], docs, np.arange(3), ECFG, 0,
                         protocol=LmEvaluationConfig(window=8, stride=4, block_chars=20))
    expected = np.full(n, 4 * sure)
    expected[0] = guess + 3 * sure
    np.testing.assert_allclose(stream["nll"][0], expected, rtol=1e-5)
    assert stream["nll"][1].tolist() == [4] * n == alone["nll"][1].tolist()
    bpc = stream["test"]["bits_per_char"]["value"]
    assert bpc == pytest.approx((guess + (4 * n - 1) * sure) / math.log(2) / chars, rel=1e-5)
    assert alone["test"]["bits_per_char"]["value"] == pytest.approx(
        n * (guess + 3 * sure) / math.log(2) / chars, rel=1e-5)
    assert stream["scoring"] == {**stream["scoring"], "protocol": "stream", "window": 8,
                                 "stride": 4}
    # the start of the text (the first 3 documents) is scored on its own the same way
    assert stream["test"]["subsample_bits_per_char"]["value"] == pytest.approx(
        (guess + 11 * sure) / math.log(2) / sum(len(d) + 1 for d in docs[:3]), rel=1e-5)
    tiny = evaluate_lm(lm, [], docs, np.arange(3), ECFG, 0,
                       protocol=LmEvaluationConfig(window=2, stride=1))
    np.testing.assert_allclose(tiny["nll"][0], 4 * guess, rtol=1e-5)


def test_the_ngram_trains_and_scores_on_running_text():
    """A trigram sees the word before the end-of-text: on running text it predicts the
    first word of the next document, which a document scored alone cannot."""
    docs = [[1 + (3 * i + k) % 5 for k in range(3)] for i in range(200)]
    lm = KneserNeyLM(order=3).fit_stream(docs, vocab_size=6, eos_id=0)
    alone = lm.token_log_probs(docs[1:20])
    in_stream = lm.stream_log_probs(docs[:20])
    running = np.array([-lp.sum() for lp in in_stream])[1:]
    assert all(-lp[0] > 1.0 for lp in alone)  # a document's first word, guessed alone
    assert all(-lp[0] < 0.05 for lp in in_stream[1:])  # ... and from the text before it
    np.testing.assert_allclose([lp[1:] for lp in alone], [lp[1:] for lp in in_stream[1:]])
    stream, owner = join_documents(docs[:20], 0)
    logp = lm.token_log_probs([stream[1:-1].tolist()])[0]  # the same text as one document
    np.testing.assert_allclose(-np.bincount(owner, weights=logp), np.concatenate(
        [[-lm.stream_log_probs(docs[:20])[0].sum()], running]))
    # counted on the stream: the trigram (w4, eot, w0) exists
    p = lm.distribution([5, 0])
    assert p.argmax() == 1 and p.sum() == pytest.approx(1.0)


def test_blocks_of_text_and_the_start_of_the_test_text():
    chars = np.array([900, 900, 900, 100, 3000, 50])
    assert text_blocks(chars, 2000).tolist() == [0, 0, 0, 1, 1, 2]
    assert leading_index(["a" * 99] * 10, 350).tolist() == [0, 1, 2]


def test_smollm2_matches_an_independent_sliding_window_computation():
    """Our running-text score of SmolLM2 against Hugging Face's sliding-window recipe,
    written here with transformers alone (model, tokenizer and loss)."""
    from greennlp.models import smollm2

    if not smollm2.is_converted():
        pytest.skip("smollm2: not converted on this machine (the integration test fetches it)")
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

    docs = [wrapped_text([p]).strip() for p in make_paragraphs(4, seed=3)]
    window, stride = 64, 24
    ours = smollm2.load_smollm2().score_stream(docs, window, stride)

    folder = smollm2.converted_dir()
    model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32).eval()
    tok = PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"))
    eos = tok.convert_tokens_to_ids("<|endoftext|>")
    ids = [eos]
    for d in docs:
        ids += tok(d, add_special_tokens=False)["input_ids"] + [eos]
    ids = torch.tensor([ids])
    nll, count, prev_end = 0.0, 0, 0
    with torch.inference_mode():
        for begin in range(0, ids.size(1), stride):  # the recipe of the transformers docs
            end = min(begin + window, ids.size(1))
            inputs = ids[:, begin:end]
            labels = inputs.clone()
            labels[:, :-(end - prev_end)] = -100
            n_loss = int((labels[:, 1:] != -100).sum())
            nll += float(model(inputs, labels=labels).loss) * n_loss
            count += n_loss
            prev_end = end
            if end == ids.size(1):
                break
    assert count == ours[1].sum() == ids.size(1) - 1
    chars = sum(len(d) + 1 for d in docs)
    theirs_bpc = nll / math.log(2) / chars
    assert ours[0].sum() / math.log(2) / chars == pytest.approx(theirs_bpc, rel=1e-4)
    assert 0.3 < theirs_bpc < 3.0
