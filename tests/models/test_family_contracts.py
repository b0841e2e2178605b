"""Contract tests over every family of the table, in the spirit of scikit-learn's estimator
checks: what every model greennlp trains must do, whatever its family.

- a save / load round trip (through the one loader) gives identical predictions;
- probabilities have the right shape and sum to 1;
- parameter counts equal the instantiated model's;
- FLOPs per example are positive and match a counted forward pass;
- the same seed gives the same model.

A family added to the table is picked up here without a line of change; one whose extra
is not installed (MiniLM, SmolLM2) is skipped, saying why.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from greennlp.config import section
from greennlp.models import FAMILIES, family, load_model, names
from greennlp.models.accounting import count_parameters, measured_flops
from greennlp.models.checkpoints import META_NAME
from greennlp.models.lm_accounting import lm_accounting
from greennlp.tasks import load_config
from greennlp.train.classifiers import fit_family
from tests.compress.conftest import tiny_splits
from tests.conftest import TINY_OVERRIDES
from tests.lm.conftest import TINY_LM, make_corpus

CLASSIFIERS = names("classification")
LANGUAGE_MODELS = names("lm")
# MiniLM and the pretrained family (the same bundled MiniLM by default) take 2 steps: the
# contract is about what a model does, not how well it learned.
TINY = load_config(None, [*TINY_OVERRIDES, "minilm.max_length=32", "minilm.train.max_steps=2",
                          "minilm.train.batch_size=16", "minilm_peft.max_length=32",
                          "minilm_peft.train.max_steps=2", "minilm_peft.train.batch_size=16",
                          "pretrained.max_length=32",
                          "pretrained.train.max_steps=2", "pretrained.train.batch_size=16",
                          "lm.mlm.hidden_size=16",
                          "lm.mlm.num_layers=1", "lm.mlm.num_heads=2",
                          "lm.mlm.intermediate_size=32", "lm.mlm.train.max_steps=2"])
TINY_LM_CFG = load_config(None, TINY_LM)


def _skip_unless_available(name: str) -> None:
    why = family(name).available()
    if why:
        pytest.skip(f"{name}: {why}")


@pytest.fixture(scope="module")
def splits():
    return tiny_splits()


@pytest.fixture(scope="module")
def fitted(splits, tmp_path_factory):
    """Each classification family fitted twice with the same seed (built lazily)."""
    cache: dict[str, tuple] = {}

    def get(name: str):
        if name not in cache:
            folder = tmp_path_factory.mktemp(name)
            fam = family(name)
            runs = [fit_family(name, section(TINY, fam.section), splits, 0, folder / run,
                               mlm=TINY.lm.mlm)[0] for run in ("a", "b")]
            cache[name] = (runs, folder)
        return cache[name]
    return get


def _saved(model, folder):
    """``model`` saved to ``folder``, whose metadata names the model's family."""
    saved = model.save(folder)
    assert json.loads((saved / META_NAME).read_text())["family"] == model.family
    return saved


def test_every_family_is_checked_here():
    assert set(CLASSIFIERS) | set(LANGUAGE_MODELS) == set(FAMILIES)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_classifier_contract(name, fitted, splits):
    _skip_unless_available(name)
    (model, again), folder = fitted(name)
    texts = splits.dev["text"].tolist()
    proba = model.predict_proba(texts)
    assert proba.shape == (len(texts), len(splits.labels)) and model.labels == splits.labels
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)
    assert np.all(proba >= 0)
    # save / load through the one writer and the one loader
    loaded = load_model(_saved(model, folder / "saved"))
    assert type(loaded) is type(model) and loaded.family == model.family
    np.testing.assert_allclose(loaded.predict_proba(texts), proba, atol=1e-6)
    # same seed, same model
    np.testing.assert_allclose(again.predict_proba(texts), proba, atol=1e-6)
    # parameters and FLOPs against the instantiated model and a counted forward pass
    one = texts[:1]
    if hasattr(model, "model"):  # a torch encoder
        assert model.parameter_counts() == count_parameters(model.model)
        assert model.parameter_counts()["total"] == sum(p.numel() for p in model.model.parameters())
        assert model.flops_per_example(one) == _counted_encoder_flops(model, one) > 0
    else:  # a linear model on sparse features
        features = model.pipeline_.named_steps["tfidf"].transform(one)
        clf = model.pipeline_.named_steps["logreg"]
        counted = 2 * features.nnz * clf.coef_.shape[0]  # one multiply-add per stored feature
        np.testing.assert_allclose(clf.decision_function(features).ravel(),
                                   (features @ clf.coef_.T).ravel() + clf.intercept_)
        assert model.flops_per_example(one) == counted > 0
        assert model.parameter_counts()["total"] == clf.coef_.size + clf.intercept_.size


def _counted_encoder_flops(model, texts: list[str]) -> int:
    """FLOPs of one forward pass of the same weights, counted by torch's FlopCounterMode.

    The counter does not see inside PyTorch's fused CPU attention kernel, so the pass
    runs the same weights with eager attention (and gives the same logits)."""
    from greennlp.models.classifier import build_from_hf_config

    eager = build_from_hf_config(model.model.config.to_dict(), attn="eager").eval()
    eager.load_state_dict(model.model.state_dict())
    batch = model.collate(model.encode(texts))
    with torch.inference_mode():
        torch.testing.assert_close(eager(**batch).logits, model.model(**batch).logits,
                                   atol=1e-5, rtol=1e-4)
    return measured_flops(eager, **batch)


@pytest.fixture(scope="module")
def lm_parts():
    from greennlp.models.lm_tokenizer import LmTokenizer

    docs = make_corpus(120)
    return docs, LmTokenizer.train(docs, TINY_LM_CFG.lm.vocab_size)


def _build_lm(name: str, tok, docs, seed: int = 0):
    fam, lm = family(name), TINY_LM_CFG.lm
    if fam.training == "kneser-ney":
        from greennlp.models.ngram import NgramLM

        kn = fam.build(section(TINY_LM_CFG, fam.section)).fit(
            tok.encode(docs), tok.vocab_size, tok.eos_id, tok.unpredictable_ids)
        return NgramLM(kn, tok), None
    if fam.training == "pretrained":
        from greennlp.models import smollm2

        if not smollm2.is_converted():
            pytest.skip(f"{name}: not converted on this machine (the integration test fetches it)")
        model = fam.build()
        return model, (model.spec.get("model_type", "llama"), model.spec)
    spec = fam.spec(lm, tok.vocab_size, tok.pad_id)
    return fam.build(spec, tok, lm.context_length, lm.mlm.mask_fraction, seed), \
        (fam.architecture, spec)


def _next_token_distribution(name: str, model, ids: list[int]) -> np.ndarray:
    if family(name).training == "kneser-ney":
        return model.kn.distribution(ids)
    with torch.inference_mode():
        logits = model.module(input_ids=torch.tensor([ids])).logits[0, -1]
    return torch.softmax(logits.float(), -1).numpy()


@pytest.mark.parametrize("name", LANGUAGE_MODELS)
def test_language_model_contract(name, lm_parts, tmp_path):
    _skip_unless_available(name)
    docs, tok = lm_parts
    model, spec = _build_lm(name, tok, docs)
    texts = docs[:8]
    nll, tokens = model.score_texts(texts)
    assert nll.shape == tokens.shape == (len(texts),) and np.all(np.isfinite(nll))
    in_stream, stream_tokens = model.score_stream(texts, 16, 8)  # as running text
    assert in_stream.shape == (len(texts),) and np.all(np.isfinite(in_stream))
    if not family(name).masked:  # every token and end once, whichever way it is scored
        assert stream_tokens.tolist() == tokens.tolist()
    dist = _next_token_distribution(name, model, tok.encode(["the cat sees"])[0])
    assert dist.shape[-1] >= tok.vocab_size and dist.sum() == pytest.approx(1.0, abs=1e-4)
    if family(name).training != "pretrained":
        loaded = load_model(_saved(model, tmp_path / name))
        assert type(loaded) is type(model)
        np.testing.assert_allclose(loaded.score_texts(texts)[0], nll, rtol=1e-5)
        again, _ = _build_lm(name, tok, docs)
        np.testing.assert_allclose(again.score_texts(texts)[0], nll, rtol=1e-6)  # same seed
    if spec is None:  # n-gram: table look-ups, no matmuls to count
        assert model.parameter_counts()["total"] == sum(int(np.count_nonzero(c))
                                                        for c in model.kn.counts_) > 0
        return
    ids = torch.tensor([tok.encode(["the cat sees the moon"])[0][:9]])
    acc = lm_accounting(spec[0], spec[1], ids.shape[1])  # attention FLOPs grow with length
    assert model.parameter_counts() == count_parameters(model.module)
    assert acc["params_total"] == model.parameter_counts()["total"]
    if name == "lstm":
        return  # FlopCounterMode cannot see inside the fused LSTM kernel: checked against an
        # unrolled reference in tests/lm/test_lm_accounting.py::test_lstm_counts_and_flops
    assert acc["forward_flops_per_token"] * ids.shape[1] == \
        _counted_lm_flops(name, model.module, spec[1], ids) > 0


def _counted_lm_flops(name: str, module, spec: dict, ids: torch.Tensor) -> int:
    """FLOPs of a forward pass of the same weights with eager attention (see
    :func:`_counted_encoder_flops`), counted by FlopCounterMode."""
    if hasattr(module, "config"):  # a transformers model (BERT masked LM, SmolLM2's Llama)
        config = copy.deepcopy(module.config)
        config._attn_implementation = "eager"
        eager = type(module)(config)
    else:
        from greennlp.models.neural_lm import build_module

        eager = build_module(family(name).architecture, spec, attn="eager")
    eager.load_state_dict(module.state_dict())
    eager.eval()
    with torch.inference_mode():
        torch.testing.assert_close(eager(input_ids=ids).logits, module(input_ids=ids).logits,
                                   atol=1e-4, rtol=1e-4)  # fp32 kernels differ in rounding
    return measured_flops(eager, input_ids=ids)
