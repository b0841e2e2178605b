import numpy as np
import pytest

from greennlp.compress.pie import modal_prediction, pie_audit, pie_mask


def onehot(labels, k=2, confidence=0.9):
    p = np.full((len(labels), k), (1 - confidence) / (k - 1))
    p[np.arange(len(labels)), labels] = confidence
    return p


def test_modal_prediction_votes_and_shares():
    pop = [onehot([0, 1, 1]), onehot([0, 1, 0]), onehot([1, 1, 0])]
    mode, share = modal_prediction(pop)
    assert mode.tolist() == [0, 1, 0]
    assert share.tolist() == pytest.approx([2 / 3, 1.0, 2 / 3])


def test_ties_are_broken_by_mean_probability_not_order():
    a = np.array([[0.55, 0.45]])
    b = np.array([[0.2, 0.8]])
    assert modal_prediction([a, b])[0].tolist() == [1]
    assert modal_prediction([b, a])[0].tolist() == [1]


def test_hand_made_populations_give_the_known_pies():
    true = np.array([0, 0, 1, 1, 1, 0])
    dense = [onehot([0, 0, 1, 1, 0, 0]), onehot([0, 0, 1, 1, 1, 0]), onehot([0, 1, 1, 1, 1, 0])]
    # Compressed models flip example 2 (all of them) and example 5 (two of three).
    comp = [onehot([0, 0, 0, 1, 1, 1]), onehot([0, 0, 0, 1, 1, 1]), onehot([0, 0, 0, 1, 1, 0])]
    assert np.flatnonzero(pie_mask(dense, comp)).tolist() == [2, 5]
    audit = pie_audit(true, dense, comp, ["neg", "pos"], texts=list("abcdef"))
    assert audit["count"] == 2 and audit["fraction"] == pytest.approx(2 / 6)
    acc = audit["accuracy"]
    assert acc["dense_on_pies"] == 1.0 and acc["compressed_on_pies"] == 0.0
    assert acc["dense_on_rest"] == 1.0 and acc["compressed_on_rest"] == 1.0
    by_label = {c["label"]: c for c in audit["per_class"]}
    assert by_label["pos"]["recall_change"] == pytest.approx(-1 / 3)
    assert by_label["neg"]["recall_change"] == pytest.approx(-1 / 3)
    assert by_label["pos"]["pies"] == 1 and by_label["neg"]["pies"] == 1
    # Clearest disagreement first: example 2 (3/3 compressed votes) before 5 (2/3).
    assert [e["index"] for e in audit["examples"]] == [2, 5]
    assert audit["examples"][0] == {"index": 2, "text": "c", "true": "pos", "dense": "pos",
                                    "compressed": "neg", "dense_votes": 1.0, "compressed_votes": 1.0}


def test_identical_populations_have_no_pies():
    pop = [onehot([0, 1, 0]), onehot([1, 1, 0])]
    audit = pie_audit(np.array([0, 1, 0]), pop, pop, ["a", "b"])
    assert audit["count"] == 0 and audit["accuracy"]["dense_on_pies"] is None
    assert audit["examples"] == []


def test_mismatched_populations_are_rejected():
    with pytest.raises(ValueError):
        pie_mask([onehot([0, 1])], [onehot([0, 1, 1])])
    with pytest.raises(ValueError):
        modal_prediction([])
