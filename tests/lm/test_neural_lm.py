import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from greennlp.config import TrainConfig
from greennlp.models import load_model
from greennlp.models.lm_tokenizer import LmTokenizer
from greennlp.models.mlm import MaskedLM, build_bert_mlm, transfer_encoder
from greennlp.models.neural_lm import NeuralLM, build_module
from greennlp.train.lm import causal_batch, dev_scorer, epoch_batches, fit_blocks, token_blocks
from tests.lm.conftest import make_corpus

DOCS = make_corpus(300)


@pytest.fixture(scope="module")
def tok():
    return LmTokenizer.train(DOCS[:240], 300)


def _gpt(tok, context=16, positions="learned"):
    spec = dict(vocab_size=tok.vocab_size, context_length=context, d_model=32, num_layers=1,
                num_heads=2, d_ff=64, positions=positions, dropout=0.0)
    torch.manual_seed(0)
    return NeuralLM(build_module("decoder", spec), tok, "gpt", spec, context)


class Bigram(torch.nn.Module):
    """Logits depend on the current token only, so any window gives the same scores."""

    def __init__(self, vocab):
        super().__init__()
        self.table = torch.nn.Embedding(vocab, vocab)

    def forward(self, input_ids, labels=None):
        return SimpleNamespace(logits=self.table(input_ids))


def test_byte_level_tokenizer_round_trips_any_text(tok):
    text = "héllo — unseen Wörds 123 ☃\nsecond line"
    assert tok.decode(tok.encode([text])[0]) == text
    assert tok.vocab_size == 300 and tok.unpredictable_ids == [tok.pad_id, tok.mask_id]


def test_sliding_window_scores_each_token_once(tok):
    torch.manual_seed(0)
    bigram = Bigram(tok.vocab_size)
    long_doc = " ".join(DOCS[:6])
    full = NeuralLM(bigram, tok, "gpt", {}, None).score_texts([long_doc, DOCS[0]])
    window = NeuralLM(bigram, tok, "gpt", {}, 8).score_texts([long_doc, DOCS[0]])
    assert full[1].tolist() == window[1].tolist() and full[1][0] > 8
    np.testing.assert_allclose(full[0], window[0], rtol=1e-5)
    # an untrained model is near uniform: perplexity close to the vocabulary size
    nll, n = _gpt(tok).score_texts(DOCS[250:])
    assert 0.5 * tok.vocab_size < math.exp(nll.sum() / n.sum()) < 2 * tok.vocab_size


@pytest.mark.parametrize("family", ["gpt", "lstm"])
def test_training_lowers_perplexity_and_checkpoints_round_trip(tok, tmp_path, family):
    if family == "gpt":
        model = _gpt(tok, positions="sinusoidal")
    else:
        spec = dict(vocab_size=tok.vocab_size, embedding_size=32, hidden_size=48, dropout=0.0)
        torch.manual_seed(0)
        model = NeuralLM(build_module("lstm", spec), tok, "lstm", spec, None)
    blocks = token_blocks(tok.encode(DOCS[:240]), tok.eos_id, 16)
    cfg = TrainConfig(epochs=6, batch_size=16, lr=1e-2, warmup_fraction=0.05, patience=6)
    info = fit_blocks(model.module, blocks, causal_batch(torch.device("cpu")),
                      dev_scorer(model.score_texts, DOCS[240:270]), cfg, tmp_path / "ckpt",
                      seed=0, desc="t")
    after = model.score_texts(DOCS[270:])
    assert math.exp(after[0].sum() / after[1].sum()) < tok.vocab_size / 10  # uniform: 300
    assert info["tokens_trained"] == info["steps"] * 16 * 16 and info["tokens_per_s"] > 0
    assert info["best_dev_perplexity"] == pytest.approx(math.exp(info["best_dev_loss"]))
    again = load_model(model.save(tmp_path / "final"))
    np.testing.assert_allclose(again.score_texts(DOCS[270:])[0], after[0], rtol=1e-5)
    text = again.generate("the cat", max_new_tokens=8, temperature=0.7, top_k=20, top_p=0.9)
    assert isinstance(text, str) and len(again.tokenizer.encode([text])[0]) <= 8


def test_epoch_batches_are_seeded_and_cover_each_block_once():
    batches = epoch_batches(100, 8, seed=0, epoch=1)
    flat = np.concatenate(batches)
    assert len(batches) == 12 and len(set(flat.tolist())) == 96
    assert [b.tolist() for b in epoch_batches(100, 8, 0, 1)] == [b.tolist() for b in batches]
    assert token_blocks([[5, 6, 7]], 0, 2).tolist() == [[0, 5, 6], [6, 7, 0]]


def test_masked_lm_scores_saves_and_transfers_its_encoder(tok, tmp_path):
    from greennlp.config.lm import LmConfig, MlmConfig
    from greennlp.models import family
    from greennlp.models.classifier import build_from_hf_config

    config = family("bert_mlm").spec(LmConfig(mlm=MlmConfig(hidden_size=32, num_layers=1,
                                                               num_heads=2, intermediate_size=64)),
                                        tok.vocab_size, tok.pad_id)
    mlm = MaskedLM(build_bert_mlm(config), tok, 16, 0.15, seed=0)
    nll, masked = mlm.score_texts(DOCS[:20])
    assert masked.sum() > 0 and np.all(nll >= 0)
    np.testing.assert_array_equal(mlm.score_texts(DOCS[:20])[1], masked)  # same masks each call
    again = MaskedLM.load(mlm.save(tmp_path / "mlm"))
    np.testing.assert_allclose(again.score_texts(DOCS[:20])[0], nll, rtol=1e-5)
    classifier = build_from_hf_config(dict(config, num_labels=2))
    transfer_encoder(mlm.module, classifier)
    for key, value in mlm.module.bert.state_dict().items():
        assert torch.equal(classifier.bert.state_dict()[key], value), key


def test_bf16_autocast_trains_when_asked(tok, tmp_path):
    model = _gpt(tok)
    blocks = token_blocks(tok.encode(DOCS[:240]), tok.eos_id, 16)
    cfg = TrainConfig(epochs=2, batch_size=16, lr=1e-2, precision="bf16", patience=2)
    info = fit_blocks(model.module, blocks, causal_batch(torch.device("cpu")),
                      dev_scorer(model.score_texts, DOCS[240:270]), cfg, tmp_path, seed=0, desc="t")
    losses = [h["train_loss"] for h in info["history"]]
    assert losses[-1] < losses[0] and info["best_dev_perplexity"] < tok.vocab_size / 3
