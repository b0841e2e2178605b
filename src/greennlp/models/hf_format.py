"""Hugging Face's folder format for encoder classifiers: configs, tokenizers, weights.

A classifier greennlp saves is also a ``transformers`` model folder: ``config.json``
(with ``id2label`` / ``label2id``), ``model.safetensors`` and the tokenizer files, all
written by ``save_pretrained``, so that ``AutoModelForSequenceClassification``,
``AutoTokenizer`` and ``transformers.pipeline("text-classification", model=folder)`` open
it as they open any model of the Hub. Any encoder architecture with a sequence
classification head (BERT, RoBERTa, DistilBERT, ...) is rebuilt through the Auto classes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenizers import Tokenizer

# Each special token by its role, in the spellings of the BERT and RoBERTa vocabularies.
SPECIAL_TOKENS = {
    "unk_token": ("[UNK]", "<unk>"), "pad_token": ("[PAD]", "<pad>"),
    "cls_token": ("[CLS]", "<s>"), "sep_token": ("[SEP]", "</s>"),
    "mask_token": ("[MASK]", "<mask>"), "bos_token": ("<s>",), "eos_token": ("</s>",),
}
# The architectures whose layers the early-exit loop knows (greennlp.models.early_exit.parts).
EARLY_EXIT_ARCHITECTURES = ("bert", "roberta", "distilbert")
CONFIG_NOT_ARGUMENTS = ("transformers_version", "_attn_implementation")
PORTABLE_TOKENIZER_CLASS = "PreTrainedTokenizerFast"  # known to transformers 4.x and 5.x
MAX_SPECIAL_ONLY = 0.05  # the share of texts a tokenizer may read as special tokens alone


@contextmanager
def quiet() -> Iterator[None]:
    """``transformers`` without progress bars and with errors only (loading a model with a
    new head warns that the head is new, which is expected here)."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()


def config_from_dict(hf_config: dict[str, Any]) -> Any:
    """The ``transformers`` config of any architecture from its ``to_dict()`` form (a
    dict without ``model_type`` is BERT: greennlp 0.1 wrote only BERT configs)."""
    from transformers import AutoConfig

    values = {k: v for k, v in hf_config.items() if k not in CONFIG_NOT_ARGUMENTS}
    return AutoConfig.for_model(values.pop("model_type", "bert"), **values)


def build_classifier(config: Any, attn: str = "sdpa") -> Any:
    """A randomly initialised sequence classifier of ``config``'s architecture (with the
    attention heads its config keeps, when heads were pruned:
    :mod:`greennlp.models.pruned_heads`)."""
    from transformers import AutoModelForSequenceClassification

    from greennlp.models.pruned_heads import apply_heads

    return apply_heads(AutoModelForSequenceClassification.from_config(
        config, attn_implementation=attn))


def special_tokens(tokenizer: Tokenizer) -> dict[str, str]:
    """The special tokens of a ``tokenizers`` vocabulary, by role (BERT or RoBERTa style)."""
    vocab = tokenizer.get_vocab()
    found = {}
    for role, spellings in SPECIAL_TOKENS.items():
        hit = next((s for s in spellings if s in vocab), None)
        if hit is not None:
            found[role] = hit
    return found


def special_ids(tokenizer: Tokenizer) -> set[int]:
    """The ids of the vocabulary's special tokens (by role, and every added special token)."""
    ids = {tokenizer.token_to_id(t) for t in special_tokens(tokenizer).values()}
    ids |= {i for i, t in tokenizer.get_added_tokens_decoder().items() if t.special}
    return {i for i in ids if i is not None}


def check_tokenization(tokenizer: Tokenizer, ids: Sequence[Sequence[int]], name: str,
                       texts: str = "training texts") -> None:
    """Refuse a tokenizer that reads more than :data:`MAX_SPECIAL_ONLY` of the texts as
    special tokens alone ([CLS] [SEP], ``<unk>``): a model trained on that learns the
    majority class and nothing else (transformers 5, for one, silently ignores
    ``RobertaTokenizerFast(vocab_file=...)``, leaving an empty vocabulary).

    Raises
    ------
    UserError
        Naming the model, the share of texts and the fix.
    """
    from greennlp.errors import UserError

    special = special_ids(tokenizer)
    empty = sum(1 for x in ids if all(i in special for i in x))
    if ids and empty / len(ids) > MAX_SPECIAL_ONLY:
        raise UserError(f"The tokenizer of {name} turns {empty} of {len(ids)} {texts} "
                        f"({empty / len(ids):.0%}) into special tokens only, so the model "
                        f"would learn nothing from them; save a tokenizer whose vocabulary "
                        f"covers the data (AutoTokenizer.from_pretrained(...).save_pretrained) "
                        f"in the model's folder.")


def pad_id(tokenizer: Tokenizer, config: Any | None) -> int:
    """The padding token id: the model config's, else the vocabulary's pad token, else 0."""
    configured = getattr(config, "pad_token_id", None)
    if configured is not None:
        return int(configured)
    token = special_tokens(tokenizer).get("pad_token")
    return int(tokenizer.token_to_id(token)) if token else 0


def fast_tokenizer(tokenizer: Tokenizer, max_length: int) -> Any:
    """``tokenizer`` as a ``transformers`` fast tokenizer (what ``AutoTokenizer`` reopens)."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, model_max_length=max_length,
                                   **special_tokens(tokenizer))


def transformers_tokenizer(tokenizer: Tokenizer, max_length: int) -> Any:
    """A copy of ``tokenizer`` (``tokenizers``) as a ``transformers`` fast tokenizer, for
    users: ``tok(texts, padding=True, return_tensors="pt")`` gives the model's inputs."""
    from tokenizers import Tokenizer as Fast

    return fast_tokenizer(Fast.from_str(tokenizer.to_str()), max_length)


def save_tokenizer(tokenizer: Tokenizer, max_length: int, folder: Path) -> None:
    """The ``transformers`` tokenizer files of ``tokenizer`` in ``folder``, readable by
    transformers 4.x and 5.x alike.

    transformers 5 names the class of a tokenizer built from a ``tokenizers`` object
    ``TokenizersBackend``, which 4.x does not know ("Tokenizer class TokenizersBackend does
    not exist"); ``PreTrainedTokenizerFast`` is that class in both, and it reads
    ``tokenizer.json`` as it is (a model-specific class could rebuild the normalizer).
    """
    import json

    with quiet():
        fast_tokenizer(tokenizer, max_length).save_pretrained(folder)
    path = Path(folder) / "tokenizer_config.json"
    config = json.loads(path.read_text())
    config["tokenizer_class"] = PORTABLE_TOKENIZER_CLASS
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def save_hf_folder(folder: Path, model: Any, tokenizer: Tokenizer, labels: Sequence[str],
                   max_length: int) -> Path:
    """``model`` and ``tokenizer`` with ``save_pretrained``: config.json (label names in
    ``id2label`` / ``label2id``), model.safetensors and the tokenizer files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.config.id2label = dict(enumerate(labels))
    model.config.label2id = {label: i for i, label in enumerate(labels)}
    from greennlp.models.pruned_heads import HEADS_KEY, write_remote_code

    if getattr(model.config, HEADS_KEY, None):  # the config alone cannot rebuild it
        write_remote_code(folder, model.config)
    with quiet():
        model.save_pretrained(folder)
    save_tokenizer(tokenizer, max_length, folder)
    return folder


def has_weights(folder: Path) -> bool:
    """A ``transformers`` folder with weights (safetensors or a PyTorch bin, maybe sharded)."""
    names = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
             "pytorch_model.bin.index.json")
    return any((Path(folder) / n).exists() for n in names)


def encoder_layers(model: Any) -> str:
    """Dotted path (from the classifier) of the list of transformer blocks, whatever the
    architecture calls it: ``bert.encoder.layer``, ``roberta.encoder.layer``,
    ``distilbert.transformer.layer``.

    Raises
    ------
    ValueError
        When no module list of ``num_hidden_layers`` blocks is found.
    """
    from torch import nn

    depth = model.config.num_hidden_layers
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and len(module) == depth and name.endswith("layer"):
            return name
    raise ValueError(f"no list of {depth} encoder blocks in {type(model).__name__}")


def architecture(model: Any) -> str:
    """The ``model_type`` of a ``transformers`` model (``bert``, ``roberta``, ...)."""
    return str(getattr(model.config, "model_type", "bert"))
