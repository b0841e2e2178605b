"""The LM run's languages, when the corpus has a language column.

Temperature sampling (``data.language_alpha``) reaches the tokenizer (it learns on a
resample of the training texts) and the training batches (each token block carries its
language's weight, saved beside the blocks). Per language the run reports each
language's share of the training tokens before and after sampling, the tokenizer's
fertility on dev, bits per character of every model on dev and test, and the price of
1M characters of the language at training and at inference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from greennlp.data.languages import (block_languages, block_weights, characters_by_language,
                                     resample, token_shares)
from greennlp.evaluate import languages as per_language
from greennlp.evaluate.lm_eval import first_or_sample
from greennlp.evaluate.perplexity import document_chars
from greennlp.run import Run

WEIGHTS_FILE = "train_block_weights.npy"


def split_languages(run: Run, name: str) -> list[str] | None:
    """The language of each text of split ``name``, or None without a language column."""
    frame = run.splits[name]
    return frame["language"].astype(str).tolist() if "language" in frame else None


def boot(run: Run) -> dict[str, Any]:
    """The bootstrap settings every per-language interval uses."""
    return {"n_samples": run.cfg.evaluate.bootstrap_samples,
            "confidence": run.cfg.evaluate.confidence, "seed": run.cfg.seed}


def tokenizer_texts(run: Run, alpha: float) -> list[str]:
    """The texts the tokenizer learns on: the training texts, resampled by language."""
    texts, langs = run.splits.texts("train"), split_languages(run, "train")
    if langs is None:
        return texts
    return [texts[i] for i in resample(texts, langs, alpha, run.cfg.seed)]


def sampled_blocks(run: Run, tok, ids: list[list[int]], n_blocks: int, context: int,
                   alpha: float, weights_path: Path) -> dict[str, Any] | None:
    """Block weights for ``alpha`` (saved to ``weights_path`` unless alpha is 1), each
    language's share of the training tokens before and after, and the tokenizer's
    fertility on dev; None without a language column."""
    langs = split_languages(run, "train")
    if langs is None:
        return None
    texts = run.splits.texts("train")
    block_langs = block_languages([len(d) for d in ids], langs, context, n_blocks)
    weights = None
    if alpha != 1.0:
        weights = block_weights(block_langs, characters_by_language(texts, langs), alpha)
        np.save(weights_path, weights)
    elif weights_path.exists():
        weights_path.unlink()
    before, after = token_shares(block_langs, None), token_shares(block_langs, weights)
    dev, dev_langs = run.splits.texts("dev"), split_languages(run, "dev")
    fert = per_language.fertility(np.array([len(x) for x in tok.encode(dev)]), dev, dev_langs,
                                  **boot(run))
    return {"alpha": alpha, "size_unit": "training characters",
            "token_share": {k: {"before": before[k], "after": after.get(k, 0.0)} for k in before},
            "fertility_dev": fert}


def scored_languages(run: Run, split: str, n: int | None, protocol) -> list[str] | None:
    """The languages of the documents of ``split`` a model was scored on (the same
    selection as the texts: :func:`greennlp.evaluate.lm_eval.first_or_sample`)."""
    langs = split_languages(run, split)
    return None if langs is None else first_or_sample(langs, n, protocol, run.cfg.seed)


def model_languages(run: Run, res: dict[str, Any], test: list[str], dev: list[str],
                    sub_idx: np.ndarray, pretrained: bool) -> dict[str, Any] | None:
    """Per language: bits per character on test (and dev) with intervals, and the model's
    own tokens per character on test (its fertility, which prices the language); with
    the tokens the evaluation scored (dev and test), which price a token at inference
    (the report divides the evaluate stage's footprint by them)."""
    lm = run.cfg.lm
    test_langs = scored_languages(run, "test", lm.test_documents, lm.evaluation)
    if test_langs is None:
        return None
    if pretrained:
        test_langs = [test_langs[i] for i in sub_idx]
        test = [test[i] for i in sub_idx]
    nll = res["nll"]
    scored = float(nll[1].sum()) + (0.0 if res.get("dev_nll") is None else
                                    float(res["dev_nll"][1].sum()))
    out = {"tokens_scored": scored, "test": per_language.bits_per_char(nll[0], document_chars(test), test_langs,
                                              **boot(run)),
           "tokens_per_char_test": {
               lang: per_language.ratio_ci(nll[1][idx], document_chars(test)[idx], **boot(run))
               for lang, idx in _index(test_langs).items()}}
    if res.get("dev_nll") is not None:
        dev_langs = scored_languages(run, "dev", lm.dev_documents, lm.evaluation)
        out["dev"] = per_language.bits_per_char(res["dev_nll"][0], document_chars(dev),
                                                dev_langs, **boot(run))
    return out


def _index(langs: list[str]) -> dict[str, np.ndarray]:
    values = np.asarray(langs, dtype=object)
    return {k: np.flatnonzero(values == k) for k in sorted(set(langs))}
