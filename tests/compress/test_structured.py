"""Structured pruning on tiny random encoders (BERT, RoBERTa, DistilBERT, ELECTRA):
physical removal computes what masking computes, the saved folder reopens in greennlp
and in transformers.pipeline with the same predictions, importance finds dead units."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from greennlp.compress.importance import importance
from greennlp.compress.structured import (
    Shape,
    choose_layers,
    head_mask_forward,
    prune_structure,
    teacher_shape,
)
from greennlp.errors import UserError
from greennlp.models import load_model
from greennlp.models.pretrained import load_pretrained
from greennlp.models.pruned_heads import HEADS_KEY, block_linears, encoder_blocks
from tests.models.tiny_hf import KINDS, OTHER, make_tiny_encoder

TEXT = ["a moving witty film with a lovely story", "dull tired and messy a boring plot",
        "the best movie in years", "flat"]
LABELS = ["neg", "pos"]


@pytest.fixture(scope="module")
def encoders(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    return {kind: load_pretrained(str(make_tiny_encoder(kind, root / kind)), LABELS, 32)
            for kind in (*KINDS, OTHER)}


def _scores(clf):
    return importance(clf, TEXT * 4, [0, 1, 1, 0] * 4, batch_size=8)


def _pipeline_proba(folder, texts, **kwargs):
    from transformers import pipeline

    pipe = pipeline("text-classification", model=str(folder), device="cpu", **kwargs)
    return np.array([[next(d["score"] for d in row if d["label"] == lab) for lab in LABELS]
                     for row in pipe(texts, top_k=None)])


@pytest.mark.parametrize("kind", (*KINDS, OTHER))
def test_removing_heads_computes_what_masking_them_computes(kind, encoders):
    clf = encoders[kind]
    pruned, kept = prune_structure(clf, _scores(clf), Shape(3, heads=1))
    batch = clf.collate(clf.encode(TEXT))
    masked = head_mask_forward(clf.model, dict(enumerate(kept.heads)), **batch)
    with torch.inference_mode():
        np.testing.assert_allclose(pruned.model(**batch).logits, masked, atol=1e-5)
    q = block_linears(encoder_blocks(pruned.model)[0], 16)["q"]
    assert q.out_features == 8 and getattr(pruned.model.config, HEADS_KEY) == [1, 1, 1]


@pytest.mark.parametrize("kind", KINDS)
def test_a_pruned_encoder_reopens_in_greennlp_and_transformers(kind, encoders, tmp_path):
    clf = encoders[kind]
    pruned, kept = prune_structure(clf, _scores(clf), Shape(2, heads=1, ffn=8))
    assert len(kept.layers) == 2 and teacher_shape(pruned.model) == Shape(2, 2, 8)
    assert pruned.parameter_counts()["total"] < clf.parameter_counts()["total"]
    folder = pruned.save(tmp_path / "heads")
    proba = pruned.predict_proba(TEXT)
    np.testing.assert_allclose(load_model(folder).predict_proba(TEXT), proba, atol=1e-6)
    # Heads per layer are not expressible in the config: the folder carries their code.
    assert json.loads((folder / "config.json").read_text())["auto_map"]
    np.testing.assert_allclose(_pipeline_proba(folder, TEXT, trust_remote_code=True), proba,
                               atol=1e-5)
    # Layers and FFN width alone are: a plain transformers folder, no remote code.
    plain, _ = prune_structure(clf, _scores(clf), Shape(1, ffn=4))
    folder = plain.save(tmp_path / "plain")
    assert "auto_map" not in json.loads((folder / "config.json").read_text())
    assert not (folder / "greennlp_pruned_heads.py").exists()
    np.testing.assert_allclose(_pipeline_proba(folder, TEXT), plain.predict_proba(TEXT),
                               atol=1e-5)


def test_importance_is_zero_for_a_unit_that_does_nothing(tmp_path):
    clf = load_pretrained(str(make_tiny_encoder("bert", tmp_path / "bert")), LABELS, 32)
    blocks = encoder_blocks(clf.model)
    with torch.no_grad():  # head 0 of layer 1 and FFN neuron 3 of layer 0 feed nothing
        block_linears(blocks[1], 16)["o"].weight[:, :8] = 0.0
        block_linears(blocks[0], 16)["ffn_out"].weight[:, 3] = 0.0
    scores = _scores(clf)
    assert scores["heads"].shape == (3, 2) and scores["ffn"].shape == (3, 32)
    assert scores["layers"].shape == (3,) and (scores["heads"] >= 0).all()
    assert scores["heads"][1, 0] == 0.0 and scores["heads"][1, 1] > 0.0
    assert scores["ffn"][0, 3] == 0.0 and scores["ffn"][0].max() > 0.0
    assert all(p.requires_grad for p in clf.model.parameters())  # left as it was


def test_layers_are_kept_by_importance_or_evenly():
    scores = np.array([0.1, 0.9, 0.3, 0.5, 0.2, 0.8])
    assert choose_layers(scores, 3) == [1, 3, 5]
    assert choose_layers(scores, 3, "even") == [0, 3, 5]


def test_a_shape_beyond_the_teacher_is_one_sentence(encoders):
    clf = encoders["bert"]
    with pytest.raises(UserError, match="between 1 and the teacher's 2 heads"):
        prune_structure(clf, _scores(clf), Shape(2, heads=3))


def test_flops_count_the_pruned_shapes_as_torch_does(encoders):
    from greennlp.models.accounting import measured_flops

    clf = encoders["bert"]
    pruned, _ = prune_structure(clf, _scores(clf), Shape(2, heads=1, ffn=8))
    text = ["a moving witty film with a lovely story"]
    batch = pruned.collate(pruned.encode(text))
    # The counter does not see inside the fused CPU attention kernel: count eagerly.
    pruned.model.set_attn_implementation("eager")
    assert pruned.flops_per_example(text) == measured_flops(pruned.model, **batch)
    assert pruned.flops_per_example(text) < clf.flops_per_example(text)
