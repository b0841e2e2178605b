"""The pieces of the frontier plan: distillation losses, augmentation, the shapes it tries,
what it skips and what it chooses on dev (pure functions and tiny models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from greennlp.compress import augment
from greennlp.compress.frontier import choose, shapes, smaller_or_equal
from greennlp.compress.kd import attention_loss, hidden_loss, logit_loss
from greennlp.compress.structured import Shape
from greennlp.config.frontier import FrontierConfig


def test_logit_loss_takes_the_true_label_only_where_there_is_one():
    torch.manual_seed(0)
    student, teacher = torch.randn(4, 3), torch.randn(4, 3)
    labels = torch.tensor([0, 2, -1, -1])
    soft_only = logit_loss(student, teacher, labels, 2.0, 1.0)
    mixed = logit_loss(student, teacher, labels, 2.0, 0.5)
    hard = torch.nn.functional.cross_entropy(student[:2], labels[:2])
    assert mixed.item() == pytest.approx(0.5 * soft_only.item() + 0.5 * hard.item(), rel=1e-5)
    # no labelled row at all: the soft term alone, and still a graph to backpropagate
    none = logit_loss(student.requires_grad_(), teacher, torch.full((4,), -1), 2.0, 0.5)
    none.backward()
    assert none.item() == pytest.approx(0.5 * soft_only.item(), rel=1e-5)


def test_intermediate_losses_vanish_when_the_student_matches_and_skip_padding():
    torch.manual_seed(0)
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    teacher_h = [torch.randn(2, 3, 4) for _ in range(4)]  # embeddings + 3 layers
    student_h = [teacher_h[0], teacher_h[3]]  # one student layer copied from teacher layer 2
    assert hidden_loss(student_h, teacher_h, [2], mask).item() == 0.0
    noisy = [h.clone() for h in student_h]
    noisy[1][:, 2] += 5.0  # padding positions only
    assert hidden_loss(noisy, teacher_h, [2], mask).item() == 0.0
    att = torch.softmax(torch.randn(2, 4, 3, 3), -1)  # teacher layer of 4 heads
    kept = [[1, 3]]
    assert attention_loss([att[:, kept[0]]], [att], [0], kept, mask).item() == pytest.approx(0.0, abs=1e-6)
    other = torch.softmax(torch.randn(2, 2, 3, 3), -1)
    assert attention_loss([other], [att], [0], kept, mask).item() > 0.0


def test_sentences_are_cut_to_training_length():
    docs = ["Short. A man walks into a bar and orders a drink! Then he leaves the bar quietly."]
    assert augment.sentences(docs) == ["A man walks into a bar and orders a drink!",
                                       "Then he leaves the bar quietly."]
    assert augment.sentences(docs, max_words=6) == ["Then he leaves the bar quietly."]


def test_word_replacement_draws_from_embedding_neighbours(trained):
    texts = ["good movie", "bad film plot"]
    out = augment.replace_words(trained, texts, copies=3, p=1.0, k=2, seed=0)
    assert len(out) == 6
    vocab = trained.tokenizer.get_vocab()
    table = augment.neighbours(trained, ["good", "movie", "bad", "film", "plot"], k=2)
    assert any(table.values()) and out != texts * 3
    for original, new in zip(texts * 3, out):
        for a, b in zip(original.split(), new.split()):
            assert b == a or b in table.get(a, []) and b in vocab
            assert b != a or not table.get(a)  # p=1: every word with neighbours changes


def test_shapes_run_largest_first_without_the_teachers_own(trained):
    cfg = FrontierConfig(layers=(3, 2), heads=(1.0, 0.5), ffn=(1.0, 0.5))
    found = shapes(trained.model, cfg)  # 3 layers, 2 heads, FFN 32
    assert Shape(3) not in found and Shape(2) in found and Shape(2, 1, 16) == found[-1]
    assert found[0] in (Shape(3, None, 16), Shape(3, 1, None))
    assert len(found) == 7


def test_a_failed_shape_rules_out_the_shapes_no_larger_than_it():
    full = Shape(6, 12, 1536)
    assert smaller_or_equal(Shape(2, 6, 384), Shape(3, 6, 768), full)
    assert smaller_or_equal(Shape(2), Shape(2), full)
    assert not smaller_or_equal(Shape(2, None, 384), Shape(3, 6, 768), full)  # more heads


def test_the_choice_on_dev_puts_the_fastest_within_the_drops_first():
    cands = [{"name": n, "dev_score": a, "speedup": s} for n, a, s in
             [("a", 0.820, 2.0), ("b", 0.817, 6.0), ("c", 0.813, 9.0), ("d", 0.790, 14.0),
              ("e", 0.812, 8.0)]]  # e is dominated by c
    chosen = choose(cands, reference_dev=0.821, max_drop=1.0, limit=3)
    assert [c["name"] for c in chosen] == ["c", "b", "d"]
    assert [c["name"] for c in choose(cands, 0.821, 1.0, limit=10)] == ["c", "b", "d", "a"]
    assert choose([], 0.8, 1.0, 3) == []
    assert np.isclose(chosen[0]["speedup"], 9.0)
