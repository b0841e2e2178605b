"""Tiny corpora made here (never downloaded) and tiny LM settings."""

from __future__ import annotations

import random

import pytest

SUBJECTS = ["the cat", "a dog", "my friend", "the captain", "she", "he"]
VERBS = ["sees", "likes", "finds", "calls", "follows"]
OBJECTS = ["the ship", "a house", "the old man", "her sister", "the moon"]


def make_corpus(n: int = 400, seed: int = 0) -> list[str]:
    """Learnable two-turn 'dialogs' with a small vocabulary."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        line = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}."
        docs.append(f"{line}\nwhy? number {i % 7}.")
    return docs


@pytest.fixture
def corpus_path(tmp_path):
    path = tmp_path / "dialogs.txt"
    path.write_text("\n".join(line.replace("\n", " ") for line in make_corpus()))
    return path


TINY_LM = [
    "task=lm", "data.documents=lines", "data.block_documents=20", "lm.vocab_size=300", "lm.context_length=16",
    "lm.gpt.d_model=32", "lm.gpt.num_layers=1", "lm.gpt.num_heads=2", "lm.gpt.d_ff=64",
    "lm.gpt.train.epochs=4", "lm.gpt.train.lr=0.01", "lm.lstm.embedding_size=32", "lm.lstm.hidden_size=32",
    "lm.mlm.hidden_size=32", "lm.mlm.num_layers=1", "lm.mlm.num_heads=2",
    "lm.mlm.intermediate_size=64", "lm.scaling.widths=[8,16]", "lm.scaling.tokens=2000",
    "lm.scaling.eval_points=3", "lm.measure_peak=false", "lm.smollm2_documents=20",
    "lm.sampling.max_new_tokens=5", "evaluate.bootstrap_samples=100",
]


NAMES = ["Anna", "Boris", "Clara", "Dmitri", "Elena", "Fyodor"]


def make_paragraphs(n: int = 120, seed: int = 0) -> list[str]:
    """Paragraphs of running text, cased, each about one character (named again and again,
    so earlier lines help predict later ones)."""
    rng = random.Random(seed)
    paragraphs = []
    for i in range(n):
        name = rng.choice(NAMES)
        sentences = [f"{name} {rng.choice(VERBS)} {rng.choice(OBJECTS)}."
                     for _ in range(rng.randint(3, 7))]
        sentences.append(f"That was chapter {i % 9}, and {name} knew it.")
        paragraphs.append(" ".join(sentences))
    return paragraphs


def wrapped_text(paragraphs: list[str], width: int = 70) -> str:
    """The paragraphs as a plain-text book: lines wrapped at ``width``, a blank line between."""
    import textwrap

    return "\n\n".join(textwrap.fill(p, width) for p in paragraphs) + "\n"


@pytest.fixture
def novel_path(tmp_path):
    path = tmp_path / "novel.txt"
    path.write_text(wrapped_text(make_paragraphs()))
    return path
