"""Direct Preference Optimization (Rafailov et al. 2023) with the shared training loop.

For a prompt x with a preferred completion y_w and a rejected one y_l, DPO minimises

    -log sigmoid(beta * [(log pi(y_w|x) - log ref(y_w|x)) - (log pi(y_l|x) - log ref(y_l|x))])

averaged over the batch, where log pi(y|x) sums the completion's token log-probabilities.
The reference's log-probabilities do not change during training: they are computed once
per pair, before training (TRL's ``precompute_ref_log_probs``), so a step runs one model.
A batch holds the chosen rows, then the rejected rows, in one forward pass (TRL's layout;
``tests/preference`` checks the loss and gradients against TRL's ``DPOTrainer``).

:class:`DpoObjective` makes a policy fit :func:`greennlp.train.loop.train` (a module whose
forward returns ``.loss``); its checkpoints hold only the weights that train (the LoRA
adapters: a few MB, not the frozen base).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from greennlp.models.continuations import completion_batch, sequence_logps
from greennlp.train.loop import train

Ids = list[int]


@dataclass
class Pair:
    """One preference pair, with the reference's log-probabilities of both completions."""

    prompt: Ids
    chosen: Ids
    rejected: Ids
    ref_chosen: float
    ref_rejected: float


def dpo_loss(chosen: torch.Tensor, rejected: torch.Tensor, ref_chosen: torch.Tensor,
             ref_rejected: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean sigmoid DPO loss and each pair's implicit reward margin
    ``beta * (chosen log-ratio - rejected log-ratio)``.

    >>> t = torch.tensor
    >>> loss, margin = dpo_loss(t([-1.0]), t([-3.0]), t([-2.0]), t([-2.0]), beta=0.5)
    >>> round(float(loss), 4), margin.tolist()
    (0.3133, [1.0])
    """
    margin = beta * ((chosen - ref_chosen) - (rejected - ref_rejected))
    return -F.logsigmoid(margin).mean(), margin.detach()


def pair_batch(pairs: Sequence[Pair], pad_id: int,
               device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """The batch of ``pairs`` on ``device``: chosen rows first, then rejected rows, and the
    reference's log-probabilities in the same order."""
    prompts = [p.prompt for p in pairs] * 2
    completions = [p.chosen for p in pairs] + [p.rejected for p in pairs]
    batch = completion_batch(prompts, completions, pad_id)
    batch["ref_logps"] = torch.tensor([p.ref_chosen for p in pairs] +
                                      [p.ref_rejected for p in pairs], dtype=torch.float32)
    return {k: v.to(device) for k, v in batch.items()}


class DpoObjective(torch.nn.Module):
    """A policy and its DPO loss, as the training loop wants a model.

    ``forward(**pair_batch(...))`` returns ``loss`` and ``margins``. ``state_dict`` and
    ``load_state_dict`` cover only the parameters that train, so the loop's checkpoints
    (best and resume point) hold the adapters when the base is frozen.
    """

    def __init__(self, policy: torch.nn.Module, beta: float) -> None:
        super().__init__()
        self.policy, self.beta = policy, beta

    def forward(self, input_ids, attention_mask, completion_mask, ref_logps) -> SimpleNamespace:
        logps = sequence_logps(self.policy, input_ids, attention_mask, completion_mask)
        chosen, rejected = logps.chunk(2)
        ref_chosen, ref_rejected = ref_logps.chunk(2)
        loss, margins = dpo_loss(chosen, rejected, ref_chosen, ref_rejected, self.beta)
        return SimpleNamespace(loss=loss, margins=margins)

    def _trainable(self) -> dict[str, torch.nn.Parameter]:
        return {n: p for n, p in self.named_parameters() if p.requires_grad}

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
        return {n: p.detach() for n, p in self._trainable().items()}

    def load_state_dict(self, state, strict: bool = True, assign: bool = False):
        own = self._trainable()
        with torch.no_grad():
            for name, value in state.items():
                if name in own:
                    own[name].copy_(value)
        return torch.nn.modules.module._IncompatibleKeys(
            sorted(set(own) - set(state)), sorted(set(state) - set(own)))


@torch.inference_mode()
def held_out_scores(objective: DpoObjective, pairs: Sequence[Pair], pad_id: int,
                    batch_size: int) -> dict[str, float]:
    """Mean DPO loss and reward accuracy (share of pairs with a positive margin) on
    ``pairs``."""
    objective.eval()
    device = next(objective.parameters()).device
    losses, margins = [], []
    for start in range(0, len(pairs), batch_size):
        part = pairs[start:start + batch_size]
        out = objective(**pair_batch(part, pad_id, device))
        losses.append(float(out.loss) * len(part))
        margins.extend(out.margins.tolist())
    objective.train()
    return {"loss": sum(losses) / len(pairs),
            "reward_accuracy": float(np.mean(np.array(margins) > 0)),
            "margin": float(np.mean(margins))}


def fit_dpo(policy: torch.nn.Module, fit: Sequence[Pair], val: Sequence[Pair], beta: float,
            cfg, pad_id: int, ckpt_dir: Path, *, seed: int, desc: str) -> dict[str, Any]:
    """Train ``policy`` in place with DPO for ``cfg.max_steps`` steps; facts for the record.

    ``cfg`` is a :class:`~greennlp.config.TrainConfig` (``max_steps`` set; the epochs are
    planned to reach it). After each epoch the held-out pairs ``val`` are scored; minus
    their DPO loss is the loop's dev score (it keeps the best epoch and stops early). With
    no held-out pairs the last epoch is kept.
    """
    objective = DpoObjective(policy, beta)
    device = next(policy.parameters()).device
    n_batches = math.ceil(len(fit) / cfg.batch_size)
    epochs = math.ceil(cfg.max_steps / n_batches)
    cfg = dataclasses.replace(cfg, epochs=epochs, min_steps=0)
    seen: list[dict[str, float]] = []

    def batches(epoch: int):
        order = np.random.default_rng(seed + epoch).permutation(len(fit))
        for start in range(0, len(fit), cfg.batch_size):
            yield pair_batch([fit[i] for i in order[start:start + cfg.batch_size]], pad_id, device)

    def dev_score() -> float:
        t0 = time.perf_counter()
        if not val:
            seen.append({})
            return float(len(seen))  # no held-out pairs: each epoch beats the last
        seen.append(held_out_scores(objective, val, pad_id, cfg.batch_size))
        dev_score.seconds += time.perf_counter() - t0
        return -seen[-1]["loss"]
    dev_score.seconds = 0.0

    state = train(objective, batches, n_batches, dev_score, cfg, ckpt_dir, seed=seed, desc=desc)
    objective.eval()
    ran = state.history[state.resumed_from_epoch or 0:]
    train_s = sum(h["duration_s"] for h in ran) - dev_score.seconds
    steps_here = state.step - (state.history[state.resumed_from_epoch - 1]["steps"]
                               if state.resumed_from_epoch else 0)
    return {
        "beta": beta, "epochs_run": state.epoch, "steps": state.step,
        "best_epoch": state.best_epoch, "stopped_early": state.stopped_early,
        "resumed_from_epoch": state.resumed_from_epoch, "history": state.history,
        "held_out": seen, "fit_pairs": len(fit), "held_out_pairs": len(val),
        "train_time_s": train_s, "held_out_scoring_s": dev_score.seconds,
        "pairs_per_s": steps_here * cfg.batch_size / train_s if ran and train_s > 0 else None,
        "trainable_params": int(sum(p.numel() for p in objective._trainable().values())),
        "config": dataclasses.asdict(cfg),
    }
