"""MAP-D probe suites (Siddiqui et al. 2022, "Metadata Archaeology"): small sets of
training examples with known metadata, made by transforming the training data.

- ``typical`` / ``atypical``: training examples most / least similar to their class
  (TF-IDF cosine to the class centroid; the paper uses other typicality scores, any
  cheap one that orders examples by how prototypical they are serves);
- ``random_labels``: copies of training examples with a different, random label;
- ``corrupted``: copies whose words are shuffled and half replaced by random
  vocabulary words.

The copies are appended to the training set, so the model trains on them and their loss
trajectories show what memorising noise looks like.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SUITES = ("typical", "atypical", "random_labels", "corrupted")


def typicality(texts: list[str], labels: list[str]) -> np.ndarray:
    """Cosine similarity of each text's TF-IDF vector to its class centroid."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    x = TfidfVectorizer(min_df=2, sublinear_tf=True).fit_transform(texts)
    lab = np.asarray(labels)
    out = np.zeros(len(texts))
    for c in np.unique(lab):
        rows = np.flatnonzero(lab == c)
        centroid = np.asarray(x[rows].mean(axis=0)).ravel()
        centroid /= np.linalg.norm(centroid) or 1.0
        out[rows] = x[rows] @ centroid
    return out


def _corrupt(text: str, vocab: np.ndarray, rng: np.random.Generator) -> str:
    words = text.split()
    rng.shuffle(words)
    swap = rng.random(len(words)) < 0.5
    return " ".join(str(vocab[rng.integers(len(vocab))]) if s else w for w, s in zip(words, swap))


def add_probes(train: pd.DataFrame, size: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The training frame with probe copies appended, and each row's suite ("" = none).

    ``size`` examples per suite (fewer when the training set is small: at most a tenth
    of it per suite).
    """
    rng = np.random.default_rng(seed)
    n = len(train)
    size = max(1, min(size, n // 10))
    texts, labels = train["text"].tolist(), train["label"].astype(str).tolist()
    suite = np.array([""] * n, dtype=object)
    order = np.argsort(typicality(texts, labels), kind="stable")
    suite[order[-size:]] = "typical"
    suite[order[:size]] = "atypical"
    free = rng.permutation(np.flatnonzero(suite == ""))
    noisy, corrupt = free[:size], free[size:2 * size]
    classes = sorted(set(labels))
    vocab = np.array(sorted({w for t in texts for w in t.split()}))
    flipped = [rng.choice([c for c in classes if c != labels[i]]) for i in noisy]
    extra = pd.concat([
        train.iloc[noisy].assign(label=flipped),
        train.iloc[corrupt].assign(text=[_corrupt(texts[i], vocab, rng) for i in corrupt]),
    ], ignore_index=True)
    out = pd.concat([train, extra], ignore_index=True)
    suites = np.concatenate([suite, ["random_labels"] * len(noisy), ["corrupted"] * len(corrupt)])
    return out, suites.astype(str)
