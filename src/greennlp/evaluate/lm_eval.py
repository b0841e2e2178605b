"""Scoring one language model on dev and test, with intervals, speed and samples.

Every model is scored on the same documents. Test metrics also come for the fixed
subsample of test documents that the (slow) pretrained SmolLM2 is scored on, prefixed
``subsample_``, so every model can be compared with it on exactly the same text.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from greennlp.evaluate.perplexity import document_chars, lm_scores


def subsample_index(n: int, k: int, seed: int) -> np.ndarray:
    """Sorted indices of ``min(n, k)`` documents, drawn without replacement.

    >>> subsample_index(10, 3, 0).tolist()
    [5, 6, 9]
    """
    if k >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


def score(model, texts: Sequence[str], ecfg, seed: int, causal: bool = True,
          prefix: str = "") -> tuple[dict[str, dict[str, float]], np.ndarray, float]:
    """Metrics with CIs, per-document NLL (nats) and tokens scored per second."""
    t0 = time.perf_counter()
    nll, tokens = model.score_texts(list(texts))
    rate = float(tokens.sum()) / max(1e-9, time.perf_counter() - t0)
    chars = document_chars(texts) if causal else None
    metrics = lm_scores(nll, tokens, chars, n_samples=ecfg.bootstrap_samples,
                        confidence=ecfg.confidence, seed=seed)
    if not causal:  # a masked LM predicts only the masked tokens: name it so
        metrics = {f"masked_{k}": v for k, v in metrics.items()}
    return {prefix + k: v for k, v in metrics.items()}, np.stack([nll, tokens]), rate


def evaluate_lm(model, dev: Sequence[str], test: Sequence[str], sub_idx: np.ndarray, ecfg,
                seed: int, *, causal: bool = True, test_is_subsample: bool = False
                ) -> dict[str, Any]:
    """Dev and test metrics (and the subsample's), per-document test NLL, speed.

    ``test_is_subsample``: ``test`` already is the subsample (SmolLM2), so the
    subsample metrics equal the test metrics and dev is skipped.
    """
    dev_metrics = {} if test_is_subsample or not dev else score(model, dev, ecfg, seed, causal)[0]
    test_metrics, nll, rate = score(model, test, ecfg, seed, causal)
    if test_is_subsample:
        sub = {f"subsample_{k}": v for k, v in test_metrics.items()}
    else:
        part = nll[:, sub_idx]
        chars = document_chars([test[i] for i in sub_idx]) if causal else None
        sub = lm_scores(part[0], part[1], chars, n_samples=ecfg.bootstrap_samples,
                        confidence=ecfg.confidence, seed=seed)
        sub = {f"subsample_{'masked_' if not causal else ''}{k}": v for k, v in sub.items()}
    return {"dev": dev_metrics, "test": {**test_metrics, **sub}, "nll": nll,
            "eval_tokens_per_s": rate}


def samples(model, prompts: Sequence[str], scfg, seed: int) -> list[dict[str, str]]:
    """One continuation per prompt (temperature / top-k / top-p from ``scfg``)."""
    return [{"prompt": p, "continuation": model.generate(
        p, max_new_tokens=scfg.max_new_tokens, temperature=scfg.temperature, top_k=scfg.top_k,
        top_p=scfg.top_p, seed=seed + i)} for i, p in enumerate(prompts)]
