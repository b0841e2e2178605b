"""Config keys of earlier greennlp versions: refused in what a user writes, with the name
of the key that replaced them, and upgraded in the configs that run records hold.

Before the one data path, a language-modelling run read its corpus from ``lm.corpus``;
every task now reads its text from ``data`` (:data:`CORPUS_TO_DATA`).
"""

from __future__ import annotations

import copy
from typing import Any, Mapping

from greennlp.errors import UserError

# lm.corpus.<key> (before the one data path) -> data.<key>
CORPUS_TO_DATA = {"source": "source", "documents": "documents", "text_column": "text_column",
                  "max_documents": "max_examples", "dev_fraction": "dev_fraction",
                  "test_fraction": "test_fraction", "block_documents": "block_documents",
                  "drop_duplicates": "drop_duplicates"}


def _corpus(data: Mapping[str, Any]) -> Any:
    lm = data.get("lm")
    return lm.get("corpus") if isinstance(lm, Mapping) else None


def refuse_moved(data: Mapping[str, Any]) -> None:
    """User input with an ``lm.corpus`` key: one sentence names its ``data`` key."""
    corpus = _corpus(data)
    if corpus is None:
        return
    old = next(iter(corpus), "source") if isinstance(corpus, Mapping) else "source"
    raise UserError(f"Config key 'lm.corpus.{old}' is now "
                    f"'data.{CORPUS_TO_DATA.get(old, old)}' (every task reads its text from "
                    f"the data section); rename it.")


def corpus_as_data(corpus: Mapping[str, Any]) -> dict[str, Any]:
    """A recorded ``lm.corpus`` section as the ``data`` section it now is (split by blocks;
    a corpus recorded without ``documents`` read its .txt file by lines).

    >>> corpus_as_data({"source": "c.txt", "max_documents": 200})
    {'split': 'blocks', 'documents': 'lines', 'source': 'c.txt', 'max_examples': 200}
    """
    data = {"split": "blocks", "documents": "lines"}
    data.update({CORPUS_TO_DATA.get(k, k): v for k, v in corpus.items()})
    return data


def upgrade(recorded: Mapping[str, Any]) -> dict[str, Any]:
    """A config recorded by an earlier greennlp, in today's shape: an LM run's corpus
    becomes its ``data`` section; the unused ``lm.corpus`` of other runs is dropped."""
    out = copy.deepcopy(dict(recorded))
    corpus = _corpus(out)
    if corpus is None:
        return out
    del out["lm"]["corpus"]
    if out.get("task") == "lm":
        out["data"] = corpus_as_data(corpus)
    return out
