"""Unstructured pruning of an encoder's linear layers: magnitude or random, global or per
layer, one-shot or gradual (the cubic schedule of Zhu & Gupta 2017), with fine-tuning.

Masks come from ``torch.nn.utils.prune``: it picks exactly ``k`` weights with top-k
(global across layers or per layer, by |w| or at random), applies the mask in a forward
pre-hook, so the shared training loop fine-tunes under the mask unchanged, and composes
successive masks (a gradual step only prunes among the weights still alive). Absolute
counts (not fractions) are passed so the final sparsity is exact.

Pruned weights are zeros in dense tensors: the checkpoint is as large and inference as
slow as before. Sparsity saves memory only in a sparse format (reported as a computed
size) and saves time only with sparse kernels, which greennlp does not use.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn
from torch.nn.utils import prune

from greennlp.compress.base import Context, label_indices
from greennlp.compress.finetune import dev_accuracy_of, run_training, steps_per_epoch
from greennlp.models.classifier import EncoderClassifier
from greennlp.models.hf_format import encoder_layers

SCOPES = ("global", "per_layer")
CRITERIA = ("magnitude", "random")
SCHEDULES = ("one_shot", "gradual")


def prunable(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    """The linear layers of the encoder blocks (attention and feed-forward).

    Embeddings, the pooler and the classifier stay dense, as in most BERT pruning work:
    together they are a small share of the matmul FLOPs and very sensitive.
    """
    if not hasattr(model, "config"):  # a bare module (tests): every linear layer
        return [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    # The blocks' parent, so names read as in BERT's encoder: ``layer.0.attention...``.
    encoder = model.get_submodule(encoder_layers(model).rsplit(".", 1)[0])
    return [(name, m) for name, m in encoder.named_modules() if isinstance(m, nn.Linear)]


def zero_count(layers: list[tuple[str, nn.Linear]]) -> tuple[int, int]:
    """Zeros and total entries over the layers' weights."""
    # While hooks are attached, ``m.weight`` is the masked weight (orig x mask).
    zeros = sum(int((m.weight == 0).sum()) for _, m in layers)
    return zeros, sum(m.weight.numel() for _, m in layers)


def prune_to(layers: list[tuple[str, nn.Linear]], sparsity: float, scope: str = "global",
             criterion: str = "magnitude") -> None:
    """Prune until ``sparsity`` of the layers' weights are masked (never un-prunes).

    Parameters
    ----------
    layers
        From :func:`prunable`.
    sparsity
        Target fraction of zero weights, over all layers (global) or in each (per_layer).
    scope
        ``global``: one threshold across layers; ``per_layer``: each layer the same share.
    criterion
        ``magnitude`` (smallest |w| go) or ``random`` (the baseline).
    """
    if scope not in SCOPES or criterion not in CRITERIA:
        raise ValueError(f"scope must be one of {SCOPES} and criterion one of {CRITERIA}")
    groups = [layers] if scope == "global" else [[item] for item in layers]
    method = prune.L1Unstructured if criterion == "magnitude" else prune.RandomUnstructured
    for group in groups:
        masked = sum(int((_mask(m) == 0).sum()) for _, m in group)
        total = sum(m.weight.numel() for _, m in group)
        extra = int(round(sparsity * total)) - masked
        if extra <= 0:
            continue
        params = [(m, "weight") for _, m in group]
        prune.global_unstructured(params, pruning_method=method, amount=extra)


def _mask(m: nn.Linear) -> torch.Tensor:
    return getattr(m, "weight_mask", torch.ones_like(m.weight))


def make_permanent(layers: list[tuple[str, nn.Linear]]) -> None:
    """Fold the masks into the weights and drop the hooks (zeros stay zeros)."""
    for _, m in layers:
        if prune.is_pruned(m):
            prune.remove(m, "weight")


def cubic_sparsity(step: int, final: float, ramp_steps: int, initial: float = 0.0,
                   every: int = 1) -> float:
    """Zhu & Gupta (2017): s_t = s_f + (s_i - s_f) (1 - t / (n dt))^3, updated every ``every`` steps.

    >>> [round(cubic_sparsity(t, 0.9, 100, every=50), 3) for t in (0, 49, 50, 100, 150)]
    [0.0, 0.0, 0.787, 0.9, 0.9]
    """
    t = min(ramp_steps, (step // every) * every)
    return final + (initial - final) * (1.0 - t / max(1, ramp_steps)) ** 3


def sparsity_facts(model: nn.Module) -> dict[str, Any]:
    """Recounted zeros: in the pruned layers, per layer, and in the whole model."""
    layers = prunable(model)
    zeros, total = zero_count(layers)
    params = [p for p in model.parameters()]
    all_total = sum(p.numel() for p in params)
    nonzero = sum(int((p != 0).sum()) for p in params)
    return {
        "pruned_tensors": len(layers), "pruned_weights_total": total,
        "pruned_weights_nonzero": total - zeros, "sparsity": zeros / max(1, total),
        "params_total": all_total, "params_nonzero": nonzero,
        "per_layer_sparsity": {name: round(float((m.weight == 0).float().mean()), 4)
                               for name, m in layers},
        # CSR-like storage: a 4-byte value and a 4-byte index per non-zero of the pruned
        # tensors, the rest dense fp32. Computed, not measured: greennlp saves dense tensors.
        "sparse_size_mb_computed": (8 * (total - zeros) + 4 * (all_total - total)) / 1e6,
    }


class MagnitudePruner:
    """Pruning of the encoder's linear weights to a target sparsity.

    Parameters
    ----------
    sparsity
        Target fraction of zero weights in the pruned layers (0 < s < 1).
    schedule
        ``one_shot`` (prune, then fine-tune at that sparsity) or ``gradual`` (raise the
        sparsity along the cubic schedule while fine-tuning).
    scope, criterion
        See :func:`prune_to`; ``criterion="random"`` is the random-pruning baseline.
    train_cfg
        Fine-tuning settings (a :class:`greennlp.config.TrainConfig`); None: no
        fine-tuning (only valid one-shot).
    every
        Gradual: steps between mask updates.
    ramp_fraction
        Gradual: the schedule reaches the target after this share of the first epoch, so
        every epoch whose weights the loop may keep (best on dev) is at full sparsity.
    """

    def __init__(self, sparsity: float, *, schedule: str = "one_shot", scope: str = "global",
                 criterion: str = "magnitude", train_cfg=None, every: int = 10,
                 ramp_fraction: float = 0.75) -> None:
        if not 0.0 < sparsity < 1.0:
            raise ValueError("sparsity must be strictly between 0 and 1")
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}")
        if schedule == "gradual" and train_cfg is None:
            raise ValueError("gradual pruning fine-tunes while pruning: give train_cfg")
        self.sparsity, self.schedule, self.scope, self.criterion = sparsity, schedule, scope, criterion
        self.train_cfg, self.every, self.ramp_fraction = train_cfg, every, ramp_fraction
        self.facts_: dict[str, Any] = {}

    @property
    def name(self) -> str:
        kind = "prune" if self.criterion == "magnitude" else "random-prune"
        scope = "" if self.scope == "global" else "-layer"
        sched = "" if self.schedule == "one_shot" else "-gradual"
        return f"{kind}{scope}{sched}-{round(100 * self.sparsity)}"

    def compress(self, model: EncoderClassifier, ctx: Context) -> EncoderClassifier:
        """A pruned (and fine-tuned) copy of ``model``."""
        torch.manual_seed(ctx.seed)  # random pruning draws from torch's generator
        clf = EncoderClassifier(copy.deepcopy(model.model), model.tokenizer, model.labels,
                                model.max_length, model.family)
        layers = prunable(clf.model)
        before_step = None
        if self.schedule == "one_shot":
            prune_to(layers, self.sparsity, self.scope, self.criterion)
        else:
            before_step = self._ramp(layers, len(ctx.splits.train))
        history = None
        if self.train_cfg is not None:
            train = ctx.splits.train
            facts = run_training(
                clf, clf.model, self.train_cfg, train["text"].tolist(),
                label_indices(clf.labels, train["label"]), lambda: dev_accuracy_of(clf, ctx),
                ctx.work_dir / f"{self.name}-ckpt", ctx.seed, f"fine-tune {self.name}",
                before_step=before_step)
            history = facts
        zeros_before = zero_count(layers)[0]
        prune_to(layers, self.sparsity, self.scope, self.criterion)  # a no-op once reached
        make_permanent(layers)
        self.facts_ = {**sparsity_facts(clf.model), "fine_tuning": history,
                       "pruned_after_fine_tuning": zero_count(layers)[0] - zeros_before}
        return clf

    def _ramp(self, layers: list[tuple[str, nn.Linear]], n_train: int):
        """The per-step hook of the gradual schedule, reaching the target within epoch 1."""
        ramp = int(self.ramp_fraction * steps_per_epoch(n_train, self.train_cfg.batch_size))
        if self.train_cfg.max_steps:
            ramp = min(ramp, int(self.ramp_fraction * self.train_cfg.max_steps))
        ramp = max(self.every, ramp // self.every * self.every)  # the last update hits it

        def before_step(step: int) -> None:
            prune_to(layers, cubic_sparsity(step, self.sparsity, ramp, every=self.every),
                     self.scope, self.criterion)
        return before_step

    def describe(self) -> dict[str, Any]:
        """Settings and the recounted sparsity of the last compressed model."""
        return {"method": "pruning", "target_sparsity": self.sparsity, "schedule": self.schedule,
                "scope": self.scope, "criterion": self.criterion,
                "fine_tuning_steps": None if self.train_cfg is None else
                (self.facts_.get("fine_tuning") or {}).get("steps"),
                "library": "torch.nn.utils.prune", **self.facts_,
                "speed_note": "zeros are stored and multiplied densely: no speed-up and no "
                              "smaller checkpoint without sparse storage and kernels"}
