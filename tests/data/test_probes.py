"""MAP-D probe suites made from the training data."""

import numpy as np

from greennlp.data.probes import SUITES, add_probes, typicality
from tests.conftest import make_frame


def test_probe_suites_mark_originals_and_append_transformed_copies():
    train = make_frame(200)
    out, suites = add_probes(train, 10, seed=0)
    assert len(out) == 220 and len(suites) == 220
    assert {s: int((suites == s).sum()) for s in SUITES} == {s: 10 for s in SUITES}
    assert (suites[200:210] == "random_labels").all() and (suites[210:] == "corrupted").all()
    assert set(suites[:200]) == {"", "typical", "atypical"}
    originals = out.iloc[200:210]
    # a random-label copy has an original with the same text and another label
    for _, row in originals.iterrows():
        src = train[train["text"] == row["text"]]
        assert len(src) == 1 and src["label"].iloc[0] != row["label"]
    assert not set(out["text"].iloc[210:]) & set(train["text"])  # corrupted copies are new texts


def test_typical_examples_are_closer_to_their_class_than_atypical_ones():
    train = make_frame(200)
    score = typicality(train["text"].tolist(), train["label"].tolist())
    _, suites = add_probes(train, 10, seed=0)
    assert score[suites[:200] == "typical"].min() >= score[suites[:200] == "atypical"].max()
    assert np.all((score >= 0) & (score <= 1 + 1e-9))
