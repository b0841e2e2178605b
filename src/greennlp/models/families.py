"""The one table of model families: what each is, where its settings live, how it is
built, and what it can do. Every other package asks this table instead of naming
families; adding a family is one :class:`Family` entry (:func:`register`) plus its module.

How a family is built depends on how it is trained (``training``):

==================  =======================================================================
``training``        ``build`` signature and what the training layer does with the result
==================  =======================================================================
``once``            ``build(section, texts, labels, seed)`` -> an estimator with
                    ``fit(texts, labels)`` (scikit-learn style), fitted once on train
``epochs``          ``build(section, texts, labels, seed)`` -> an
                    :class:`~greennlp.models.classifier.EncoderClassifier`, trained in
                    epochs by the shared loop with ``section.train``
``masked-lm``       as ``epochs``, pre-trained as a masked LM (``lm.mlm``) first
``kneser-ney``      ``build(section)`` -> a :class:`~greennlp.models.ngram.KneserNeyLM`
``blocks``          ``build(spec, tokenizer, context_length, mask_fraction, seed)`` -> a torch
                    LM trained on token blocks; ``spec(lm, vocab, pad)`` gives its spec
``pretrained``      ``build()`` -> the pretrained model, scored as is (and, when the family is
                    ``adaptable``, trained further on the corpus with its section's settings)
==================  =======================================================================

A model of any family offers what the stages use: ``labels`` and
``predict_proba(texts, batch_size)`` (classifiers) or ``score_texts(texts)`` (language
models), ``parameter_counts()``, ``flops_per_example(texts)`` (classifiers) and
``save(folder)``, which writes ``greennlp_model.json`` naming the family, so that
:func:`greennlp.models.load_model` finds the family's ``load``. The contract tests
(``tests/models/test_family_contracts.py``) check every entry of the table.

The table imports nothing heavy: builders import torch and transformers when called.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

from greennlp.config import (PretrainedConfig, PretrainedEncoderConfig, TfidfConfig,
                             TransformerConfig)
from greennlp.config.sections import PeftPretrainedConfig
from greennlp.config.lm import AdaptConfig, DecoderConfig, LstmConfig, MlmConfig, NgramConfig

CLASSIFICATION, LM = "classification", "lm"
# Quality metrics where a lower value is better; every other metric is higher-is-better.
LOWER_IS_BETTER = frozenset({"perplexity", "masked_perplexity", "bits_per_char", "loss", "mae",
                             "mse", "rmse", "error_rate"})


def higher_is_better(metric: str) -> bool:
    """The direction of a quality metric.

    >>> higher_is_better("accuracy"), higher_is_better("perplexity")
    (True, False)
    """
    return metric not in LOWER_IS_BETTER
PRETRAINED_HINT = "pip install 'greennlp[pretrained]'"


def _always() -> str | None:
    return None


@dataclass(frozen=True)
class Family:
    """One model family and what it can do.

    Attributes
    ----------
    name
        The name used in ``models`` / ``lm.models`` and in the record.
    task
        ``classification`` or ``lm``.
    section
        Dotted path of its settings in the run config (``transformer``, ``lm.gpt``).
    build
        The untrained model; the signature depends on ``training`` (module docstring).
    load
        Reopens a folder the family's model was saved to (``load(folder)``);
        :func:`greennlp.models.load_model` calls it for folders of this family.
    training
        How the training layer fits it (module docstring).
    searchable, seeded, compressible, deterministic
        Hyperparameter search applies; its final configuration can be retrained with
        other seeds; the compressors (int8, distillation, early exit, pruning) accept it;
        the seed changes nothing (the solver uses no randomness).
    writes_text
        A language model that can sample continuations.
    metric
        The main quality metric, higher- or lower-is-better by name.
    spec
        ``blocks`` language models: ``spec(lm, vocab_size, pad_id)`` -> the model spec dict
        of its :attr:`architecture`, shared by training and the compute planner.
    depth
        Encoder classifiers: the number of layers a run config gives it (early exit).
    available
        None when the family can run here, else why not (a missing extra).
    library, card_training_type
        What the model card's front matter says about it.
    pretrained
        Its weights start pretrained (fine-tuned or adapted here, or scored as is).
    base_name
        Pretrained families: the base model's name from a recorded config mapping (a Hub id
        or folder; ``""`` = the bundled default), for the model card.
    encoder_type
        Encoder classifiers: the architecture (``bert``, ``roberta``, ...) a run config
        gives it, for the compressors that handle only some architectures (early exit).
    architecture
        ``blocks`` language models: the network built from the spec (``decoder``, ``lstm``,
        ``bert``); it names the parameter and FLOP accounting too.
    adaptable
        A ``pretrained`` language model that its section's settings can train further on
        the corpus (``steps`` > 0).
    sliding_window
        Scored on running text with a sliding window of tokens (an n-gram model reads only
        its last n - 1 tokens instead).
    settings
        The dataclass of its config section; a family registered from outside declares
        its section here and the config accepts it (:func:`register`).
    """

    name: str
    task: str
    section: str | None
    build: Callable[..., Any]
    load: Callable[[Any], Any] | None
    training: str
    searchable: bool = False
    seeded: bool = False
    compressible: bool = False
    deterministic: bool = False
    writes_text: bool = False
    metric: str = "accuracy"
    spec: Callable[[Any, int, int], dict] | None = None
    depth: Callable[[Any], int] | None = None
    available: Callable[[], str | None] = _always
    library: str = "transformers"
    card_training_type: str = "pre-training"
    pretrained: bool = False
    base_name: Callable[[Any], str] | None = None
    encoder_type: Callable[[Any], str] | None = None
    architecture: str | None = None
    adaptable: bool = False
    sliding_window: bool = True
    settings: type | None = None

    @property
    def higher_is_better(self) -> bool:
        """The direction of the family's :attr:`metric`."""
        return higher_is_better(self.metric)

    @property
    def masked(self) -> bool:
        """A masked LM: predicts masked tokens given both sides (perplexities do not compare
        with causal models)."""
        return self.metric == "masked_perplexity"

    @property
    def iterative(self) -> bool:
        """Trained in epochs, so successive halving can grow its budget rung by rung."""
        return self.training in ("epochs", "masked-lm")

    @property
    def as_is(self) -> bool:
        """Loaded and scored without training (unless it is adapted)."""
        return self.training == "pretrained"


# -- builders and loaders (heavy imports happen when they are called) ---------------------
def _load_tfidf(folder):
    from greennlp.models.tfidf import TfidfLogReg

    return TfidfLogReg.load(folder)


def _load_encoder(folder):
    from greennlp.models.classifier import EncoderClassifier

    return EncoderClassifier.load(folder)


def _load_ngram(folder):
    from greennlp.models.ngram import NgramLM

    return NgramLM.load(folder)


def _load_neural_lm(architecture: str) -> Callable[[Any], Any]:
    def load(folder):
        from greennlp.models.neural_lm import NeuralLM

        return NeuralLM.load(folder, architecture)
    return load


def _load_masked_lm(folder):
    from greennlp.models.mlm import MaskedLM

    return MaskedLM.load(folder)


def _tfidf(section, texts, labels, seed):
    from greennlp.models.tfidf import TfidfLogReg

    return TfidfLogReg(section, seed)


def _scratch(family: str) -> Callable[..., Any]:
    def build(section, texts, labels, seed):
        from greennlp.models.encoder import build_scratch_encoder

        return build_scratch_encoder(section, texts, labels, seed, family=family)
    return build


def _minilm(family: str) -> Callable[..., Any]:
    def build(section, texts, labels, seed):
        from greennlp.models.finetuning import prepare
        from greennlp.models.pretrained import MINILM_HUB_ID, load_minilm

        return prepare(load_minilm(labels, section.max_length, seed, family=family),
                       section.finetune, base_model=MINILM_HUB_ID)
    return build


def _minilm_available() -> str | None:
    from greennlp.models.pretrained import minilm_dir

    return None if minilm_dir() else f"the pretrained extra is not installed ({PRETRAINED_HINT})"


def _minilm_depth(cfg) -> int:
    from greennlp.models.pretrained import minilm_layers

    return minilm_layers()


def _pretrained(section, texts, labels, seed):
    from greennlp.models.finetuning import prepare
    from greennlp.models.pretrained import base_model_facts, load_pretrained

    return prepare(load_pretrained(section.name_or_path, labels, section.max_length, seed),
                   section.finetune, base_model=base_model_facts(section.name_or_path)["base_model"])


def _bert_type(cfg) -> str:
    return "bert"


def _pretrained_type(cfg) -> str:
    from greennlp.models.pretrained import pretrained_architecture

    return pretrained_architecture(cfg.pretrained.name_or_path)


def _pretrained_name(config) -> str:
    return str((config.get("pretrained") or {}).get("name_or_path") or "")


def _pretrained_depth(cfg) -> int:
    from greennlp.models.pretrained import pretrained_layers

    return pretrained_layers(cfg.pretrained.name_or_path)


def _ngram(section):
    from greennlp.models.ngram import KneserNeyLM

    return KneserNeyLM(section.order, section.discount)


def _causal_lm(family: str, architecture: str, context: bool) -> Callable[..., Any]:
    """A ``blocks`` causal LM: a decoder reads a fixed context; an LSTM reads any length."""
    def build(spec, tokenizer, context_length, mask_fraction, seed):
        import torch

        from greennlp.models.neural_lm import NeuralLM, build_module

        torch.manual_seed(seed)
        return NeuralLM(build_module(architecture, spec), tokenizer, family, spec,
                        context_length if context else None)
    return build


def _masked_lm(spec, tokenizer, context_length, mask_fraction, seed):
    import torch

    from greennlp.models.mlm import MaskedLM, build_bert_mlm

    torch.manual_seed(seed)
    return MaskedLM(build_bert_mlm(spec), tokenizer, context_length, mask_fraction, seed)


def _gpt_spec(lm, vocab: int, pad: int) -> dict:
    g = lm.gpt
    return {"vocab_size": vocab, "context_length": lm.context_length, "d_model": g.d_model,
                   "num_layers": g.num_layers, "num_heads": g.num_heads, "d_ff": g.d_ff,
                   "positions": g.positions, "dropout": g.dropout, "tie_weights": g.tie_weights}


def _lstm_spec(lm, vocab: int, pad: int) -> dict:
    m = lm.lstm
    return {"vocab_size": vocab, "embedding_size": m.embedding_size,
                    "hidden_size": m.hidden_size, "num_layers": m.num_layers, "dropout": m.dropout,
                    "tie_weights": m.tie_weights}


def _bert_mlm_spec(lm, vocab: int, pad: int) -> dict:
    m = lm.mlm
    return {"model_type": "bert", "vocab_size": vocab, "hidden_size": m.hidden_size,
                    "num_hidden_layers": m.num_layers, "num_attention_heads": m.num_heads,
                    "intermediate_size": m.intermediate_size, "hidden_act": "gelu",
                    "hidden_dropout_prob": m.dropout, "attention_probs_dropout_prob": m.dropout,
                    "max_position_embeddings": lm.context_length, "type_vocab_size": 2,
                    "pad_token_id": pad}


def _smollm2():
    from greennlp.models.smollm2 import load_smollm2

    return load_smollm2()


def _load_tuned(folder):
    """A pretrained decoder tuned here (adapters or weights over its rebuilt base)."""
    from greennlp.models.tuned_decoder import load_tuned

    return load_tuned(folder, lambda name: family(name).build())


def _smollm2_available() -> str | None:
    from greennlp.models import smollm2

    if smollm2.is_converted() or not smollm2.missing_packages():
        return None
    return f"the pretrained extra is not installed ({smollm2.INSTALL_HINT})"


def _transformer_depth(cfg) -> int:
    return cfg.transformer.num_layers


# -- the table ----------------------------------------------------------------------------
FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Add (or replace) a family in the table; returns it. A family with ``settings`` whose
    top-level ``section`` the run config does not have yet declares it there, so the config
    grows with the table (``<section>.<key>=value`` works like any setting)."""
    from greennlp.config import RunConfig, declare_section

    FAMILIES[family.name] = family
    if family.settings is not None and family.section and "." not in family.section \
            and family.section not in {f.name for f in dataclasses.fields(RunConfig)}:
        declare_section(family.section, family.settings)
    return family


for _f in (
    Family("tfidf_logreg", CLASSIFICATION, "tfidf", _tfidf, _load_tfidf, "once", searchable=True,
           seeded=True, deterministic=True, library="sklearn", settings=TfidfConfig),
    Family("transformer", CLASSIFICATION, "transformer", _scratch("transformer"), _load_encoder,
           "epochs", searchable=True, seeded=True, compressible=True, depth=_transformer_depth,
           encoder_type=_bert_type, settings=TransformerConfig),
    Family("minilm", CLASSIFICATION, "minilm", _minilm("minilm"), _load_encoder, "epochs", searchable=True,
           seeded=True, compressible=True, depth=_minilm_depth, available=_minilm_available,
           card_training_type="fine-tuning", pretrained=True, base_name=lambda config: "",
           encoder_type=_bert_type, settings=PretrainedConfig),
    Family("minilm_peft", CLASSIFICATION, "minilm_peft", _minilm("minilm_peft"),
           _load_encoder, "epochs",
           searchable=True, seeded=True, compressible=True, depth=_minilm_depth,
           available=_minilm_available, card_training_type="fine-tuning", pretrained=True,
           base_name=lambda config: "", encoder_type=_bert_type, settings=PeftPretrainedConfig),
    Family("pretrained", CLASSIFICATION, "pretrained", _pretrained, _load_encoder, "epochs",
           searchable=True, seeded=True, compressible=True, depth=_pretrained_depth,
           card_training_type="fine-tuning", pretrained=True, base_name=_pretrained_name,
           encoder_type=_pretrained_type, settings=PretrainedEncoderConfig),
    Family("transformer_mlm", CLASSIFICATION, "transformer", _scratch("transformer_mlm"),
           _load_encoder, "masked-lm", compressible=True, depth=_transformer_depth,
           encoder_type=_bert_type, settings=TransformerConfig),
    Family("ngram", LM, "lm.ngram", _ngram, _load_ngram, "kneser-ney", writes_text=True,
           metric="perplexity", library="greennlp", sliding_window=False, settings=NgramConfig),
    Family("lstm", LM, "lm.lstm", _causal_lm("lstm", "lstm", context=False),
           _load_neural_lm("lstm"), "blocks", writes_text=True, metric="perplexity",
           spec=_lstm_spec, library="greennlp", architecture="lstm", settings=LstmConfig),
    Family("gpt", LM, "lm.gpt", _causal_lm("gpt", "decoder", context=True),
           _load_neural_lm("decoder"), "blocks", writes_text=True, metric="perplexity",
           spec=_gpt_spec, library="greennlp", architecture="decoder", settings=DecoderConfig),
    Family("bert_mlm", LM, "lm.mlm", _masked_lm, _load_masked_lm, "blocks",
           metric="masked_perplexity", spec=_bert_mlm_spec, architecture="bert",
           settings=MlmConfig),
    Family("smollm2", LM, "lm.smollm2", _smollm2, _load_tuned, "pretrained", writes_text=True,
           metric="perplexity", available=_smollm2_available, card_training_type="fine-tuning",
           pretrained=True, adaptable=True, settings=AdaptConfig),
):
    register(_f)


def family(name: str) -> Family:
    """The family called ``name`` (a KeyError names the known ones)."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"unknown model family {name!r}; known: {', '.join(FAMILIES)}") from None


def names(task: str | None = None, **capabilities: bool) -> list[str]:
    """Family names, optionally of one task and with the given capabilities.

    >>> names("classification", searchable=True)
    ['tfidf_logreg', 'transformer', 'minilm', 'minilm_peft', 'pretrained']
    """
    return [f.name for f in FAMILIES.values() if task in (None, f.task)
            and all(getattr(f, key) == value for key, value in capabilities.items())]
