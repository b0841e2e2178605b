"""Near-duplicates (MinHash + LSH), exact shared spans and the audit of splits."""

import random

import numpy as np
import pytest

from greennlp.config import AuditConfig
from greennlp.data import near_duplicates as nd
from greennlp.data.audit import audit_splits, clean_test_mask
from greennlp.data.substrings import substring_overlap
from greennlp.errors import UserError


def planted_corpus(n: int = 3000, copies: int = 300, length: int = 100, seed: int = 0):
    """Random documents plus copies with 1-3 words changed (with 100 words and 5-grams,
    one change gives Jaccard ~0.9, two ~0.76-0.9, three less: pairs on both sides of 0.8)."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(3000)]
    docs = [" ".join(rng.choice(vocab) for _ in range(length)) for _ in range(n)]
    for _ in range(copies):
        words = docs[rng.randrange(n)].split()
        for _ in range(rng.randint(1, 3)):
            words[rng.randrange(length)] = rng.choice(vocab)
        docs.append(" ".join(words))
    return docs


def _set_jaccard(a: str, b: str, n: int) -> float:
    grams = lambda t: {tuple(t.lower().split()[i:i + n]) for i in range(len(t.split()) - n + 1)}  # noqa: E731
    x, y = grams(a), grams(b)
    return len(x & y) / len(x | y)


def test_exact_jaccard_matches_python_sets():
    docs = planted_corpus(50, 20)
    sh = nd.shingle(docs, 5)
    pairs = np.array([(i, j) for i in range(0, 70, 7) for j in range(i + 1, 70, 5)])
    got = nd.exact_jaccard(sh, pairs)
    want = [_set_jaccard(docs[i], docs[j], 5) for i, j in pairs]
    assert np.allclose(got, want)


def test_lsh_finds_planted_near_duplicates_with_recall_against_brute_force():
    docs = planted_corpus()
    sh = nd.shingle(docs, 5)
    found = nd.find(sh, 0.8)
    recall = nd.recall_against_brute_force(sh, found, 0.8, sample=len(docs))
    assert recall["true_pairs"] >= 50  # the test means something
    assert recall["recall"] >= 0.95
    assert all(s >= 0.8 for s in found.similarity)  # every reported pair is checked exactly
    # the sampled estimate (each sampled document against all) agrees
    sampled = nd.recall_against_brute_force(sh, found, 0.8, sample=1000)
    assert sampled["sample_documents"] == 1000 and sampled["recall"] >= 0.9


def test_lower_threshold_finds_more_pairs_and_lsh_bands_follow_it():
    docs = planted_corpus()
    sh = nd.shingle(docs, 5)
    assert len(nd.find(sh, 0.5).pairs) > len(nd.find(sh, 0.8).pairs)
    bands, rows = nd.lsh_bands(128, 0.5)
    assert bands * rows <= 128 and 1 - (1 - 0.5 ** rows) ** bands >= 0.99


def test_short_documents_match_only_their_copies_and_mostly_short_is_refused():
    sh = nd.shingle(["a b", "a b", "a c", "one two three four five six"], 5)
    assert sh.short.tolist() == [True, True, True, False]
    found = nd.find(sh, 0.8)
    assert [tuple(p) for p in found.pairs] == [(0, 1)]
    with pytest.raises(UserError, match="audit.ngram"):
        nd.check_ngram(sh, 5)


def test_threshold_outside_unit_interval_is_one_sentence():
    sh = nd.shingle(planted_corpus(20, 0), 5)
    for bad in (0.0, 1.5, -1):
        with pytest.raises(UserError, match=r"\(0, 1\]"):
            nd.find(sh, bad)


def test_substring_overlap_finds_a_planted_span_and_counts_its_tokens():
    rng = random.Random(1)
    words = lambda k: " ".join(f"t{rng.randrange(10**6)}" for _ in range(k))  # noqa: E731
    shared = words(60)
    train = [words(30), "intro " + shared + " outro", words(30)]
    test = [words(20), "x " + shared[: len(" ".join(shared.split()[:55]))] + " y", words(10)]
    dev = [words(80)]
    out = substring_overlap({"train": train, "dev": dev, "test": test}, length=50)
    assert out["dev"]["tokens_covered"] == 0 and out["dev"]["documents_touched"] == 0
    assert out["test"]["tokens_covered"] == 55  # the 55 shared words, nothing around them
    assert out["test"]["documents_touched"] == 1 and out["test"]["examples"]
    assert out["train_tokens_in_repeated_spans"] == 0.0


def test_audit_splits_reports_shares_rows_and_the_clean_test_mask():
    docs = planted_corpus(600, 0, length=20)
    train, test = docs[:400], docs[400:500]
    test[3] = " ".join(train[7].split()[:19] + ["changed"])  # near-duplicate of train
    test[8] = train[9]  # exact copy
    dev = docs[500:]
    labels = {"train": ["a"] * 400, "dev": ["a"] * 100, "test": ["b"] * 100}
    out = audit_splits({"train": train, "dev": dev, "test": test}, AuditConfig(), labels=labels)
    assert out["test"]["rows"] == [3, 8] and out["test"]["with_train_match"] == 2
    assert out["test"]["pairs_with_different_labels"] == 2 and out["dev"]["with_train_match"] == 0
    assert out["train"]["in_clusters"] == 0 and out["recall"]["recall"] == 1.0
    mask = clean_test_mask(out, 100)
    assert mask.sum() == 98 and not mask[3] and not mask[8]
