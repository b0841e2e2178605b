"""A tiny multilingual corpus made here (never downloaded): five 'languages' with their own
words and scripts, and a long tail (the last has a tenth of the first's texts)."""

from __future__ import annotations

import random

import pandas as pd

WORDS = {
    "en": ["the", "cat", "sees", "a", "ship", "old", "man", "moon", "likes", "house"],
    "de": ["der", "hund", "sieht", "ein", "schiff", "alte", "mann", "mond", "mag", "haus"],
    "ru": ["кот", "видит", "старый", "корабль", "луна", "дом", "любит", "человек", "и", "где"],
    "zh": ["猫", "看见", "一条", "船", "老人", "月亮", "喜欢", "房子", "的", "在"],
    "ga": ["an", "cat", "feiceann", "long", "sean", "fear", "gealach", "teach", "is", "maith"],
}
SIZES = {"en": 160, "de": 120, "ru": 100, "zh": 60, "ga": 16}


def make_texts(seed: int = 0, sizes: dict[str, int] | None = None) -> pd.DataFrame:
    """Texts of 4-9 words of one language each, with columns text and language."""
    rng = random.Random(seed)
    rows = []
    for lang, n in (sizes or SIZES).items():
        sep = "" if lang == "zh" else " "
        for i in range(n):
            words = [rng.choice(WORDS[lang]) for _ in range(rng.randint(4, 9))]
            rows.append((sep.join(words) + f"{sep}{i % 5}.", lang))
    return pd.DataFrame(rows, columns=["text", "language"])


def write_csv(path, seed: int = 0, sizes: dict[str, int] | None = None):
    """The corpus as a CSV file (the language column is called ``lang``)."""
    make_texts(seed, sizes).rename(columns={"language": "lang"}).to_csv(path, index=False)
    return path
