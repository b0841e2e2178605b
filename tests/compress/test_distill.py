import numpy as np
import pytest
import torch
import torch.nn.functional as F

from greennlp.compress.distill import Distiller, build_student, distillation_loss, teacher_layers
from tests.compress.conftest import FAST


def test_student_starts_from_the_chosen_teacher_layers(trained):
    student = build_student(trained, 2)
    assert student.model.config.num_hidden_layers == 2
    t, s = trained.model.state_dict(), student.model.state_dict()
    for s_idx, t_idx in enumerate(teacher_layers(3, 2)):
        key = "bert.encoder.layer.{}.attention.self.query.weight"
        assert torch.equal(s[key.format(s_idx)], t[key.format(t_idx)])
    assert torch.equal(s["classifier.weight"], t["classifier.weight"])
    assert torch.equal(s["bert.embeddings.word_embeddings.weight"],
                       t["bert.embeddings.word_embeddings.weight"])
    s["classifier.weight"].add_(1.0)  # a copy, not shared storage
    assert not torch.equal(student.model.classifier.weight, trained.model.classifier.weight)


def test_narrower_student_is_built_from_scratch(trained):
    student = build_student(trained, 1, hidden_size=8)
    assert student.model.config.hidden_size == 8 and student.model.config.num_hidden_layers == 1
    assert student.parameter_counts()["total"] < trained.parameter_counts()["total"]


def test_distillation_loss_limits():
    torch.manual_seed(0)
    s, t = torch.randn(8, 3), torch.randn(8, 3)
    y = torch.randint(0, 3, (8,))
    assert torch.allclose(distillation_loss(s, t, y, 2.0, 0.0), F.cross_entropy(s, y))
    assert distillation_loss(t, t, y, 2.0, 1.0).abs() < 1e-6  # matching the teacher costs nothing
    # The soft term is T^2 x KL of the softened distributions.
    kl = F.kl_div(F.log_softmax(s / 3, -1), F.softmax(t / 3, -1), reduction="batchmean")
    assert torch.allclose(distillation_loss(s, t, y, 3.0, 1.0), 9 * kl, atol=1e-6)


def test_distiller_trains_a_smaller_student_that_learns(trained, ctx):
    d = Distiller(2, FAST, temperature=2.0, alpha=0.5)
    student = d.compress(trained, ctx)
    assert student.model.config.num_hidden_layers == 2 and d.name == "distill-L2"
    facts = d.describe()
    assert facts["student_params"] < facts["teacher_params"]
    assert facts["training"]["steps"] > 0 and facts["teacher_layers"] == [0, 2]
    proba = student.predict_proba(ctx.splits.dev["text"].tolist())
    acc = np.mean(proba.argmax(1) == ctx.dev_labels(student.labels))
    assert acc > 0.8  # the tiny task is learnable; a broken loss stays near 0.5


def test_teacher_layers_bounds():
    with pytest.raises(ValueError):
        teacher_layers(3, 4)
    assert teacher_layers(6, 1) == [5]
