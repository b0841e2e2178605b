"""Knowledge distillation (Hinton et al. 2015) into a smaller student of the teacher's
architecture (BERT, RoBERTa, DistilBERT, ...).

The student has fewer layers and, optionally, a smaller hidden size. With the teacher's
hidden size it starts from the teacher's embeddings, pooler, classifier and evenly
spaced layers (as DistilBERT starts from every other layer of BERT); otherwise it
starts from scratch with the teacher's tokenizer. The loss mixes the KL divergence to
the teacher's temperature-softened distribution (scaled by T^2 so its gradients do not
shrink with T) and the cross-entropy on the true labels:
``alpha * T^2 * KL(p_T || q_T) + (1 - alpha) * CE(y, q)``.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from greennlp.compress.base import Context, label_indices
from greennlp.compress.finetune import dev_accuracy_of, run_training
from greennlp.errors import UserError
from greennlp.models.classifier import EncoderClassifier, build_from_hf_config
from greennlp.models.hf_format import architecture, encoder_layers


def teacher_layers(n_teacher: int, n_student: int) -> list[int]:
    """Evenly spaced teacher layers (first and last included) to initialise the student.

    >>> teacher_layers(6, 3), teacher_layers(6, 2), teacher_layers(12, 6)
    ([0, 3, 5], [0, 5], [0, 2, 4, 7, 9, 11])
    """
    if not 1 <= n_student <= n_teacher:
        raise ValueError("the student needs between 1 and the teacher's number of layers")
    if n_student == 1:
        return [n_teacher - 1]
    return [int(np.floor(i * (n_teacher - 1) / (n_student - 1) + 0.5)) for i in range(n_student)]


def build_student(teacher: EncoderClassifier, layers: int, hidden_size: int | None = None,
                  seed: int = 0) -> EncoderClassifier:
    """A student with ``layers`` layers (and ``hidden_size``), sharing the teacher's tokenizer."""
    cfg = copy.deepcopy(teacher.model.config)  # attribute names shared by every architecture
    same_width = hidden_size in (None, cfg.hidden_size)
    cfg.num_hidden_layers = layers
    if not same_width:
        if architecture(teacher.model) != "bert":
            raise UserError(f"Distillation to another hidden size builds BERT-shaped students "
                            f"only, and the teacher ({teacher.family}) is a "
                            f"{architecture(teacher.model)!r} model; unset "
                            f"compress.distill.hidden_size to keep the teacher's width.")
        cfg.update({"hidden_size": hidden_size, "num_attention_heads": max(1, hidden_size // 64),
                    "intermediate_size": 4 * hidden_size})
    torch.manual_seed(seed)
    model = build_from_hf_config(cfg.to_dict())
    if same_width:
        state = teacher.model.state_dict()
        picked = teacher_layers(teacher.model.config.num_hidden_layers, layers)
        prefix = encoder_layers(teacher.model) + "."
        new = {k: v for k, v in state.items() if not k.startswith(prefix)}
        for s_idx, t_idx in enumerate(picked):
            for k, v in state.items():
                if k.startswith(f"{prefix}{t_idx}."):
                    new[k.replace(f"{prefix}{t_idx}.", f"{prefix}{s_idx}.", 1)] = v
        model.load_state_dict({k: v.clone() for k, v in new.items()})
    # The student is of its teacher's family (an encoder classifier); the record says it was
    # distilled (variant_of, compression).
    return EncoderClassifier(model, teacher.tokenizer, teacher.labels, teacher.max_length,
                             family=teacher.family)


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                      labels: torch.Tensor, temperature: float, alpha: float) -> torch.Tensor:
    """``alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, y)``."""
    soft = F.kl_div(F.log_softmax(student_logits / temperature, -1),
                    F.log_softmax(teacher_logits / temperature, -1), reduction="batchmean",
                    log_target=True)
    hard = F.cross_entropy(student_logits, labels)
    return alpha * temperature ** 2 * soft + (1.0 - alpha) * hard


class _DistillModule(nn.Module):
    """The student with the distillation loss as its training objective."""

    def __init__(self, student: nn.Module, temperature: float, alpha: float) -> None:
        super().__init__()
        self.student, self.temperature, self.alpha = student, temperature, alpha

    def forward(self, input_ids, attention_mask, labels, teacher_logits):
        logits = self.student(input_ids=input_ids, attention_mask=attention_mask).logits
        return SimpleNamespace(loss=distillation_loss(logits, teacher_logits, labels,
                                                      self.temperature, self.alpha))


class Distiller:
    """Compressor: distil a teacher into a smaller student.

    Parameters
    ----------
    layers
        Student layers.
    hidden_size
        Student hidden size; None keeps the teacher's (and initialises from it).
    temperature
        Softmax temperature of the soft labels (T >= 1 flattens them).
    alpha
        Weight of the soft-label loss; ``1 - alpha`` goes to the true labels.
    train_cfg
        A :class:`greennlp.config.TrainConfig` for the student.
    """

    def __init__(self, layers: int, train_cfg, hidden_size: int | None = None,
                 temperature: float = 2.0, alpha: float = 0.5) -> None:
        self.layers, self.hidden_size, self.train_cfg = layers, hidden_size, train_cfg
        self.temperature, self.alpha = temperature, alpha
        self.facts_: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return f"distill-L{self.layers}" + (f"-H{self.hidden_size}" if self.hidden_size else "")

    def compress(self, model: EncoderClassifier, ctx: Context) -> EncoderClassifier:
        """Train a student on ``model``'s soft labels and the true labels of train."""
        texts = ctx.splits.train["text"].tolist()
        # Log-probabilities are logits up to a per-row constant, which softmax ignores.
        teacher = np.log(np.clip(model.predict_proba(texts, 64), 1e-12, 1.0)).astype(np.float32)
        student = build_student(model, self.layers, self.hidden_size, ctx.seed)
        module = _DistillModule(student.model, self.temperature, self.alpha)
        facts = run_training(
            student, module, self.train_cfg, texts, label_indices(student.labels,
                                                                  ctx.splits.train["label"]),
            lambda: dev_accuracy_of(student, ctx), ctx.work_dir / f"{self.name}-ckpt", ctx.seed,
            f"distil {self.name}", extra=lambda idx: {"teacher_logits": torch.from_numpy(teacher[idx])})
        self.facts_ = {"teacher_layers": (teacher_layers(model.model.config.num_hidden_layers,
                                                         self.layers)
                                          if self.hidden_size in (None, model.model.config.hidden_size)
                                          else None),
                       "student_params": student.parameter_counts()["total"],
                       "teacher_params": model.parameter_counts()["total"], "training": facts}
        return student

    def describe(self) -> dict[str, Any]:
        return {"method": "distillation", "student_layers": self.layers,
                "student_hidden_size": self.hidden_size, "temperature": self.temperature,
                "alpha": self.alpha, **self.facts_}
