"""A structurally pruned student, distilled from its dense teacher on augmented text.

:class:`StructuredPruner` is the compressor: score (Michel et al. 2019), prune to a
:class:`~greennlp.compress.structured.Shape`, distil (:mod:`greennlp.compress.kd`) on
the training texts plus augmented ones (:mod:`greennlp.compress.augment`). The frontier
plan (:mod:`greennlp.compress.frontier`) makes one per shape and scores them once.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np
import torch

from greennlp.compress import augment
from greennlp.compress.base import Context, label_indices
from greennlp.compress.evaluation import fidelity
from greennlp.compress.finetune import dev_accuracy_of, run_training
from greennlp.compress.importance import importance
from greennlp.compress.kd import DistillObjective
from greennlp.compress.structured import Shape, prune_structure, structure_facts
from greennlp.compress.vocab import trim_vocabulary
from greennlp.evaluate import EVAL_BATCH_SIZE
from greennlp.evaluate.predictions import predict_once
from greennlp.models.classifier import EncoderClassifier


def augmented_texts(teacher: EncoderClassifier, ctx: Context, kinds: Sequence[str],
                    copies: int, limit: int) -> tuple[list[str], dict[str, int]]:
    """Extra unlabelled inputs: in-domain sentences (when the context has documents) and
    word-replaced training texts; at most ``limit``, drawn with the context's seed."""
    rng = np.random.default_rng(ctx.seed)
    parts: dict[str, list[str]] = {}
    if "in_domain" in kinds and ctx.unlabelled:
        parts["in_domain"] = augment.sentences(ctx.unlabelled)
    if "replace" in kinds and copies:
        parts["replace"] = augment.replace_words(teacher, ctx.splits.train["text"].tolist(),
                                                 copies, seed=ctx.seed)
    texts = [t for part in parts.values() for t in part]
    if len(texts) > limit:
        texts = [texts[i] for i in sorted(rng.choice(len(texts), limit, replace=False))]
    return texts, {k: len(v) for k, v in parts.items()}


class StructuredPruner:
    """Compressor: prune layers, heads and FFN neurons physically, then distil.

    Parameters
    ----------
    shape
        What the student keeps (:class:`~greennlp.compress.structured.Shape`).
    settings
        A :class:`greennlp.config.frontier.FrontierConfig` (losses, augmentation,
        temperature, alpha, training).
    """

    def __init__(self, shape: Shape, settings: Any) -> None:
        self.shape, self.settings = shape, settings
        self.facts_: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return f"prune-{self.shape.label}"

    def scores(self, teacher: EncoderClassifier, ctx: Context) -> dict[str, np.ndarray]:
        """Importance on (a sample of) the training data; dev is never looked at."""
        train = ctx.splits.train
        n = min(len(train), self.settings.importance_examples)
        rows = np.random.default_rng(ctx.seed).choice(len(train), n, replace=False)
        texts = train["text"].iloc[rows].tolist()
        return importance(teacher, texts, label_indices(teacher.labels,
                                                        train["label"].iloc[rows]))

    def compress(self, model: EncoderClassifier, ctx: Context,
                 scores: dict[str, np.ndarray] | None = None,
                 extra: tuple[list[str], dict[str, int]] | None = None) -> EncoderClassifier:
        """Prune ``model`` (the teacher) and distil the student; ``scores`` and ``extra``
        (augmented texts) may be shared between the students of one plan."""
        s = self.settings
        t0 = time.perf_counter()
        scores = scores if scores is not None else self.scores(model, ctx)
        student, kept = prune_structure(model, scores, self.shape, s.layer_choice)
        extra_texts, extra_counts = extra if extra is not None else augmented_texts(
            model, ctx, s.augment, s.replace_copies, s.max_augmented)
        pruned_dev = dev_accuracy_of(student, ctx)
        training = self._distil(model, student, kept, extra_texts, ctx)
        student, vocab = self._trim(student, ctx, extra_texts, s.trim_max_drop_points) \
            if s.trim_vocabulary else (student, {})
        self.facts_ = {"shape": {"layers": self.shape.layers, "heads": self.shape.heads,
                                 "ffn": self.shape.ffn},
                       **structure_facts(model.model, student.model, kept),
                       "layer_choice": s.layer_choice, "losses": list(s.losses),
                       "augmented_texts": extra_counts, "augmented_used": len(extra_texts),
                       "dev_accuracy_before_distillation": pruned_dev,
                       "training": training, "vocabulary": vocab,
                       "seconds": time.perf_counter() - t0,
                       "student_params": student.parameter_counts()["total"],
                       "teacher_params": model.parameter_counts()["total"]}
        return student

    def _distil(self, teacher: EncoderClassifier, student: EncoderClassifier, kept,
                extra: list[str], ctx: Context) -> dict[str, Any]:
        s = self.settings
        texts = ctx.splits.train["text"].tolist()
        labels = label_indices(student.labels, ctx.splits.train["label"]) + [-1] * len(extra)
        texts = texts + list(extra)
        weights = {k: getattr(s, f"{k}_weight") for k in s.losses}
        module = DistillObjective(student.model, teacher.model, kept.layers, kept.heads,
                                  s.temperature, s.alpha, weights)
        precomputed = None
        if not module.weights:  # logits alone: the teacher runs once, not every epoch
            proba = teacher.predict_proba(texts, 64)
            precomputed = torch.from_numpy(np.log(np.clip(proba, 1e-12, 1.0)).astype(np.float32))
        attn = "attention" in module.weights
        before = (teacher.model.config._attn_implementation, student.model.config._attn_implementation)
        if attn:  # only eager attention returns the weights the loss compares
            teacher.model.set_attn_implementation("eager")
            student.model.set_attn_implementation("eager")
        try:
            return run_training(
                student, module, s.train, texts, labels, lambda: dev_accuracy_of(student, ctx),
                ctx.work_dir / f"{self.name}-ckpt", ctx.seed, f"distil {self.name}",
                extra=None if precomputed is None else
                (lambda idx: {"teacher_logits": precomputed[idx]}))
        finally:
            if attn:
                teacher.model.set_attn_implementation(before[0])
                student.model.set_attn_implementation(before[1])

    @staticmethod
    def _trim(student: EncoderClassifier, ctx: Context, extra: Sequence[str],
              max_drop_points: float) -> tuple[EncoderClassifier, dict]:
        """The student with the vocabulary of the texts it was distilled on (training and
        augmented), if that costs at most ``max_drop_points`` of dev accuracy; else the
        untrimmed student. The facts give the dev agreement and accuracy change either way.

        Trimming saves size, not time (an embedding lookup is no matrix product), so a
        trimmed vocabulary that loses accuracy is not kept: on the default data, trimming
        to the training texts' tokens alone changed 1.9% of dev labels and cost a 3-layer
        student 0.94 dev points."""
        trimmed, facts = trim_vocabulary(student, ctx.splits.train["text"].tolist() + list(extra))
        if not facts["trimmed"]:
            return student, facts
        lost = 100 * (dev_accuracy_of(student, ctx) - dev_accuracy_of(trimmed, ctx))
        dev = ctx.splits.dev["text"].tolist()  # the passes above, remembered by predict_once
        facts["dev_agreement_with_untrimmed"] = fidelity(
            predict_once(student, dev, EVAL_BATCH_SIZE),
            predict_once(trimmed, dev, EVAL_BATCH_SIZE))["agreement"]
        facts["dev_accuracy_change_points"] = -lost
        if lost > max_drop_points:
            facts.update(trimmed=False, why=f"the trimmed vocabulary lost {lost:.2f} dev points "
                         f"(more than trim_max_drop_points={max_drop_points:g})")
            return student, facts
        return trimmed, facts

    def describe(self) -> dict[str, Any]:
        s = self.settings
        return {"method": "structured_pruning", "importance": "Michel et al. 2019 (train)",
                "temperature": s.temperature, "alpha": s.alpha, **self.facts_}
