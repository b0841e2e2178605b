"""Distillation with intermediate-layer losses, for students that keep some of the
teacher's layers and heads (structured pruning) and train on augmented text.

The objective, per batch:

* logits: ``alpha * T^2 * KL(p_T || q_T)`` on every row (augmented rows too) plus
  ``(1 - alpha) * CE(y, q)`` on the labelled rows only (augmented rows have no label);
* ``hidden`` (TinyBERT, Jiao et al. 2020): the mean squared error between each student
  layer's output and the output of the teacher layer it was copied from (and between the
  embedding outputs), over real tokens only;
* ``attention`` (TinyBERT; MiniLM, Wang et al. 2020): the KL divergence between the
  teacher's and the student's attention distributions of the same heads (a pruned
  student's heads are a subset of its teacher layer's heads, so they pair one to one).

The teacher runs in the same forward pass when an intermediate loss is on (its hidden
states are too large to cache); with the logit loss alone its logits are computed once.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

LOSSES = ("hidden", "attention")


def logit_loss(student: torch.Tensor, teacher: torch.Tensor, labels: torch.Tensor,
               temperature: float, alpha: float) -> torch.Tensor:
    """Soft-label KL on every row plus cross-entropy on rows with a label (>= 0)."""
    soft = F.kl_div(F.log_softmax(student / temperature, -1),
                    F.log_softmax(teacher / temperature, -1), reduction="batchmean",
                    log_target=True)
    labelled = labels >= 0
    hard = (F.cross_entropy(student[labelled], labels[labelled]) if bool(labelled.any())
            else student.sum() * 0.0)
    return alpha * temperature ** 2 * soft + (1.0 - alpha) * hard


def hidden_loss(student: Sequence[torch.Tensor], teacher: Sequence[torch.Tensor],
                layer_map: Sequence[int], mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error of hidden states over real tokens: the student's embedding
    output against the teacher's, and student layer ``i`` against teacher layer
    ``layer_map[i]`` (``hidden_states`` index ``i + 1``)."""
    pairs = [(0, 0)] + [(i + 1, t + 1) for i, t in enumerate(layer_map)]
    weight = mask.unsqueeze(-1).to(student[0].dtype)
    tokens = weight.sum() * student[0].shape[-1]
    total = sum(((student[s] - teacher[t]) ** 2 * weight).sum() for s, t in pairs)
    return total / (tokens * len(pairs))


def attention_loss(student: Sequence[torch.Tensor], teacher: Sequence[torch.Tensor],
                   layer_map: Sequence[int], heads: Sequence[Sequence[int]],
                   mask: torch.Tensor) -> torch.Tensor:
    """KL(teacher || student) between attention rows of paired heads, over real query
    tokens, averaged over heads and layers."""
    rows = mask.to(student[0].dtype)  # [batch, query]
    losses = []
    for i, t in enumerate(layer_map):
        s_att = student[i]
        t_att = teacher[t][:, list(heads[i])]
        kl = (t_att * (torch.log(t_att.clamp_min(1e-9)) - torch.log(s_att.clamp_min(1e-9))))
        per_row = kl.sum(-1)  # [batch, heads, query]
        losses.append((per_row * rows[:, None, :]).sum() / (rows.sum() * s_att.shape[1]))
    return torch.stack(losses).mean()


class DistillObjective(nn.Module):
    """The student with the distillation objective as its training loss.

    Parameters
    ----------
    student, teacher
        ``transformers`` sequence classifiers; the teacher is frozen.
    layer_map
        For each student layer, the teacher layer it was copied from.
    heads
        For each student layer, the teacher heads it kept (in order).
    temperature, alpha
        Of the logit loss.
    weights
        Weights of the intermediate losses by name (``hidden``, ``attention``); an
        absent or zero weight turns the loss off.
    """

    def __init__(self, student: nn.Module, teacher: nn.Module | None,
                 layer_map: Sequence[int], heads: Sequence[Sequence[int]], temperature: float,
                 alpha: float, weights: dict[str, float] | None = None) -> None:
        super().__init__()
        self.student = student
        self.weights = {k: v for k, v in (weights or {}).items() if v}
        unknown = set(self.weights) - set(LOSSES)
        if unknown:
            raise ValueError(f"unknown intermediate losses {sorted(unknown)}; known: {LOSSES}")
        if self.weights and teacher is None:
            raise ValueError("intermediate losses need the teacher model")
        self._teacher = [teacher.eval()] if teacher is not None else []  # not a submodule
        self.layer_map, self.heads = list(layer_map), [list(h) for h in heads]
        self.temperature, self.alpha = temperature, alpha

    def train(self, mode: bool = True) -> "DistillObjective":
        super().train(mode)
        for t in self._teacher:
            t.eval()  # the teacher never trains (no dropout either)
        return self

    def forward(self, input_ids, attention_mask, labels, teacher_logits=None):
        want_h, want_a = "hidden" in self.weights, "attention" in self.weights
        kwargs = {"output_hidden_states": want_h, "output_attentions": want_a}
        out = self.student(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
        teacher_out = None
        if self.weights or teacher_logits is None:
            with torch.no_grad():
                teacher_out = self._teacher[0](input_ids=input_ids,
                                               attention_mask=attention_mask, **kwargs)
            teacher_logits = teacher_out.logits
        parts = {"logits": logit_loss(out.logits.float(), teacher_logits.float(), labels,
                                      self.temperature, self.alpha)}
        if want_h:
            parts["hidden"] = hidden_loss(out.hidden_states, teacher_out.hidden_states,
                                          self.layer_map, attention_mask)
        if want_a:
            parts["attention"] = attention_loss(out.attentions, teacher_out.attentions,
                                                self.layer_map, self.heads, attention_mask)
        loss = parts["logits"] + sum(self.weights[k] * parts[k] for k in parts if k != "logits")
        return SimpleNamespace(loss=loss)


def eager_attention(model: nn.Module) -> Any:
    """Switch a ``transformers`` model to eager attention (the only one that returns the
    attention weights the attention loss needs); returns what it was."""
    before = getattr(model.config, "_attn_implementation", None)
    model.set_attn_implementation("eager")
    return before
