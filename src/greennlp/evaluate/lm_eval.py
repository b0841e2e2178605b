"""Scoring one language model on dev and test, with intervals, speed and samples.

Two protocols (``lm.evaluation.protocol``):

* ``stream`` (default): a split's documents, in order, are joined by end-of-text tokens
  into running text and scored with a sliding window (``window`` tokens, advancing by
  ``stride``: every token is scored once, with at least ``window - stride`` tokens of
  context), so each document is predicted with the text before it, as language models
  are defined. Every model scores the same text and pays for the same characters. The
  bootstrap resamples blocks of neighbouring documents (``block_chars`` characters or
  more), since a document's score depends on the text before it.
* ``documents``: each document alone, from an empty context; the bootstrap resamples
  documents.

Every model is scored on the same text. Test metrics also come for the part of the test
text that the (slow) pretrained SmolLM2 is scored on, prefixed ``subsample_``: under
``stream`` the start of the test text (the first documents, in order, so the running
text is the same), under ``documents`` a fixed random subsample of documents.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from greennlp.evaluate.perplexity import (
    document_chars,
    lm_scores,
    per_block,
    text_blocks,
)


def subsample_index(n: int, k: int, seed: int) -> np.ndarray:
    """Sorted indices of ``min(n, k)`` documents, drawn without replacement.

    >>> subsample_index(10, 3, 0).tolist()
    [5, 6, 9]
    """
    if k >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


def leading_index(texts: Sequence[str], chars: int) -> np.ndarray:
    """Indices of the first documents that hold at most ``chars`` characters (at least one).

    >>> leading_index(["abc", "de", "fghij"], 7).tolist()
    [0, 1]
    """
    total = np.cumsum(document_chars(texts))
    return np.arange(max(1, int(np.searchsorted(total, chars, side="right"))))


def is_stream(protocol) -> bool:
    return protocol is not None and protocol.protocol == "stream"


def first_or_sample(docs: Sequence[str], n: int | None, protocol, seed: int) -> list[str]:
    """``n`` documents: the first ones (running text) under the stream protocol, a seeded
    random sample under the documents protocol."""
    if not n or n >= len(docs):
        return list(docs)
    if is_stream(protocol):
        return list(docs[:n])
    return [docs[i] for i in subsample_index(len(docs), n, seed)]


def scored_test_texts(test: Sequence[str], lm_cfg, seed: int) -> list[str]:
    """The test documents every model is scored on (``lm.test_documents`` of them)."""
    return first_or_sample(test, lm_cfg.test_documents, lm_cfg.evaluation, seed)


def dev_and_subsample(splits, lm_cfg, seed: int) -> tuple[list[str], np.ndarray]:
    """Dev documents to score, and the indices (into :func:`scored_test_texts`) of the part of
    test the pretrained SmolLM2 is scored on (``splits``: a :class:`~greennlp.data.Splits`)."""
    protocol = lm_cfg.evaluation
    dev = first_or_sample(splits.texts("dev"), lm_cfg.dev_documents, protocol, seed)
    test = scored_test_texts(splits.texts("test"), lm_cfg, seed)
    if is_stream(protocol):
        return dev, leading_index(test, protocol.smollm2_chars)
    return dev, subsample_index(len(test), lm_cfg.smollm2_documents, seed)


def _metrics(nll: np.ndarray, texts: Sequence[str], ecfg, seed: int, causal: bool,
             protocol) -> dict[str, dict[str, float]]:
    """Metrics with CIs from per-document NLL and token counts (``nll`` is 2 x docs)."""
    chars = document_chars(texts)
    units = nll
    if is_stream(protocol):
        blocks = text_blocks(chars, protocol.block_chars)
        units = np.stack([per_block(nll[0], blocks), per_block(nll[1], blocks)])
        chars = per_block(chars, blocks)
    metrics = lm_scores(units[0], units[1], chars if causal else None,
                        n_samples=ecfg.bootstrap_samples, confidence=ecfg.confidence, seed=seed)
    if not causal:  # a masked LM predicts only the masked tokens: name it so
        metrics = {f"masked_{k}": v for k, v in metrics.items()}
    return metrics


def score(model, texts: Sequence[str], ecfg, seed: int, causal: bool = True, prefix: str = "",
          protocol=None) -> tuple[dict[str, dict[str, float]], np.ndarray, float]:
    """Metrics with CIs, per-document NLL (nats) and tokens, and tokens scored per second."""
    t0 = time.perf_counter()
    if is_stream(protocol):
        nll, tokens = model.score_stream(list(texts), protocol.window, protocol.stride)
    else:
        nll, tokens = model.score_texts(list(texts))
    rate = float(tokens.sum()) / max(1e-9, time.perf_counter() - t0)
    both = np.stack([nll, tokens])
    metrics = _metrics(both, texts, ecfg, seed, causal, protocol)
    return {prefix + k: v for k, v in metrics.items()}, both, rate


def evaluate_lm(model, dev: Sequence[str], test: Sequence[str], sub_idx: np.ndarray, ecfg,
                seed: int, *, causal: bool = True, test_is_subsample: bool = False,
                protocol=None) -> dict[str, Any]:
    """Dev and test metrics (and the subsample's), per-document test (and dev) NLL and
    tokens, speed, and how the text was scored (``protocol``: an ``lm.evaluation`` section; None = documents).

    ``test_is_subsample``: ``test`` already is the subsample (SmolLM2), so the
    subsample metrics equal the test metrics and dev is skipped.
    """
    dev_metrics, dev_nll = ({}, None) if test_is_subsample or not dev else \
        score(model, dev, ecfg, seed, causal, protocol=protocol)[:2]
    test_metrics, nll, rate = score(model, test, ecfg, seed, causal, protocol=protocol)
    if test_is_subsample:
        sub = dict(test_metrics)
    else:
        sub = _metrics(nll[:, sub_idx], [test[i] for i in sub_idx], ecfg, seed, causal, protocol)
    window = getattr(model, "last_window", None) if is_stream(protocol) else None
    return {"dev": dev_metrics, "test": {**test_metrics,
                                         **{f"subsample_{k}": v for k, v in sub.items()}},
            "nll": nll, "dev_nll": dev_nll, "eval_tokens_per_s": rate,
            "scoring": describe_protocol(protocol, window)}


def describe_protocol(protocol, window: tuple[int, int] | None = None) -> dict[str, Any]:
    """How the text was scored, for the record and the report."""
    if not is_stream(protocol):
        return {"protocol": "documents", "joined": "each document scored alone from an empty "
                "context (<eot> document <eot>)", "bootstrap_unit": "document"}
    w, s = window or (protocol.window, protocol.stride)
    return {"protocol": "stream", "window": int(w), "stride": int(s),
            "joined": "documents in split order, one end-of-text token between them "
                      "(<eot> doc <eot> doc ... <eot>)",
            "bootstrap_unit": f"blocks of neighbouring documents, >= {protocol.block_chars} "
                              f"characters"}


def samples(model, prompts: Sequence[str], scfg, seed: int) -> list[dict[str, str]]:
    """One continuation per prompt (temperature / top-k / top-p from ``scfg``)."""
    return [{"prompt": p, "continuation": model.generate(
        p, max_new_tokens=scfg.max_new_tokens, temperature=scfg.temperature, top_k=scfg.top_k,
        top_p=scfg.top_p, seed=seed + i)} for i, p in enumerate(prompts)]
