"""A tiny random Llama decoder registered as a family (built from a config, nothing
downloaded), and the settings of a tiny preference run on the test data."""

from __future__ import annotations

import functools

import pytest

from greennlp.models import FAMILIES, Family, register
from greennlp.models.families import LM
from tests.conftest import FILLER, NEGATIVE, POSITIVE, make_frame

TINY = "tiny_llama"


@functools.lru_cache(maxsize=None)
def _tokenizer_json() -> str:
    from greennlp.models.lm_tokenizer import train_lm_tokenizer

    words = FILLER + POSITIVE + NEGATIVE
    texts = make_frame(120)["text"].tolist() + [" ".join(words)] * 3
    return train_lm_tokenizer(texts, 300).to_str()


def tiny_llama(seed: int = 0, layers: int = 2):
    """A random Llama (H=32) with a byte-level BPE of the test vocabulary, as a NeuralLM."""
    import torch
    from tokenizers import Tokenizer
    from transformers import LlamaConfig, LlamaForCausalLM

    from greennlp.models.lm_tokenizer import LmTokenizer
    from greennlp.models.neural_lm import NeuralLM

    tok = LmTokenizer(Tokenizer.from_str(_tokenizer_json()))
    config = LlamaConfig(vocab_size=tok.vocab_size, hidden_size=32, intermediate_size=64,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=128, tie_word_embeddings=True,
                         bos_token_id=tok.eos_id, eos_token_id=tok.eos_id, pad_token_id=tok.pad_id)
    torch.manual_seed(seed)
    module = LlamaForCausalLM(config).eval()
    return NeuralLM(module, tok, TINY, config.to_dict(), config.max_position_embeddings)


def _load(folder):
    from greennlp.models.tuned_decoder import load_tuned

    return load_tuned(folder, lambda name: tiny_llama())


@pytest.fixture(scope="module")
def tiny_decoder():
    """The family ``tiny_llama``: pretrained (a fixed random init), adaptable, writes text."""
    register(Family(TINY, LM, None, lambda: tiny_llama(), _load, "pretrained",
                    writes_text=True, metric="perplexity", pretrained=True, adaptable=True,
                    library="greennlp"))
    yield TINY
    FAMILIES.pop(TINY)


def tiny_run(csv_path, runs, *extra: str) -> list[str]:
    """Overrides of a preference run that takes seconds."""
    return ["task=preference", f"data.source={csv_path}", f"output_dir={runs}",
            f"preference.model={TINY}", "preference.target=pos", "preference.prompt_words=3",
            "preference.train_prompts=16", "preference.samples_per_prompt=3",
            "preference.dev_prompts=4", "preference.test_prompts=6",
            "preference.max_new_tokens=4", "preference.betas=[0.1,1.0]", "preference.steps=4",
            "preference.batch_size=4", "preference.best_of=[2,4]", "preference.lr=0.01",
            "preference.lora_targets=[q_proj,v_proj]", "evaluate.bootstrap_samples=100",
            *extra]
