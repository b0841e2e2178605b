"""The one training loop for greennlp's torch models.

AdamW (fused where available), linear warm-up then linear decay, gradient clipping,
gradient accumulation, bf16 autocast where the hardware supports it, early stopping on
a dev score, a progress bar, and a checkpoint after every epoch that a crashed run
resumes from; training can pause at any optimizer step (``until_epoch`` with a fraction)
and resume as if it had not. The loop knows nothing about text: it gets batches and a dev
scorer.
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import torch
from safetensors.torch import save_file

from greennlp.errors import UserError
from greennlp.files import plain_mode
from greennlp.models.checkpoints import load_weights, state_without_ties
from greennlp.train import distributed
from greennlp.train.progress import progress_bar

LAST, BEST = "last", "best"


class NonFiniteLoss(UserError):
    """Training diverged (a NaN or infinite loss or weight): the stage fails instead of
    recording a broken model. :func:`greennlp.train.classifiers.fit_family` names the
    family's settings in the sentence."""


def _diverged(desc: str, what: str, epoch: int, step: int) -> NonFiniteLoss:
    return NonFiniteLoss(f"Training diverged ({desc}): {what} at epoch {epoch}, step {step}; "
                         f"lower the learning rate (train.lr) or check train.weight_decay and "
                         f"train.max_grad_norm.")


@dataclass
class TrainState:
    """Where training is; saved with every checkpoint."""

    epoch: int = 0
    step: int = 0
    best_score: float = -math.inf
    best_epoch: int = -1
    bad_epochs: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    stopped_early: bool = False
    finished: bool = False
    resumed_from_epoch: int | None = None
    # paused inside an epoch (``until_epoch`` with a fraction): batches of the current
    # epoch done, its running loss and seconds so far, and the dev score at the pause
    batch: int = 0
    epoch_loss_sum: float = 0.0
    epoch_seen: int = 0
    epoch_seconds: float = 0.0
    paused_score: float | None = None


def _finite(model: torch.nn.Module) -> bool:
    """Whether every weight is finite: one fused norm per tensor list (a loop of one
    ``isfinite`` per tensor took 10-100x longer on a busy 2-core CPU)."""
    with torch.no_grad():
        params = [p.detach() for p in model.parameters()]
        if not params:
            return True
        return bool(torch.stack(torch._foreach_norm(params)).isfinite().all())


def training_device(setting: str) -> torch.device:
    """The device ``train.device`` names: ``auto`` takes the first CUDA GPU when one is
    visible; under torchrun every rank keeps the device its model is on."""
    if setting == "cuda" and not torch.cuda.is_available():
        raise UserError("train.device is cuda but no CUDA GPU is visible here; set "
                        "train.device=auto (the CPU when there is no GPU) or cpu.")
    use_gpu = setting == "cuda" or (setting == "auto" and torch.cuda.is_available())
    return torch.device("cuda" if use_gpu else "cpu")


def _to(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v
            for k, v in batch.items()}


def use_bf16(precision: str, device: torch.device) -> bool:
    """bf16 autocast on GPUs that support it; fp32 on CPU unless asked (it is slower there
    without AMX)."""
    if precision == "fp32":
        return False
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return precision == "bf16"


def make_optimizer(model: torch.nn.Module, cfg) -> torch.optim.Optimizer:
    """AdamW without weight decay on biases and norms; fused kernel where it exists.

    A model may scale the learning rate of some parameters with an ``lr_multipliers``
    attribute mapping a parameter-name prefix to a factor (e.g. new heads on top of a
    trained encoder learn faster than the encoder: ``{"heads.": 10.0}``).
    """
    multipliers = getattr(model, "lr_multipliers", {})
    groups: dict[tuple[bool, float], list] = {}
    for name, p in model.named_parameters():
        if p.requires_grad:
            scale = next((f for prefix, f in multipliers.items() if name.startswith(prefix)), 1.0)
            groups.setdefault((p.ndim >= 2, scale), []).append(p)
    param_groups = [{"params": params, "lr": cfg.lr * scale,
                     "weight_decay": cfg.weight_decay if decay else 0.0}
                    for (decay, scale), params in groups.items()]
    try:
        return torch.optim.AdamW(param_groups, lr=cfg.lr, fused=True)
    except (RuntimeError, TypeError):  # fused not supported for this device / dtype
        return torch.optim.AdamW(param_groups, lr=cfg.lr)


def warmup_linear(total_steps: int, warmup_fraction: float) -> Callable[[int], float]:
    """LR multiplier: linear from 0 to 1 over the warm-up, then linear down to 0."""
    warmup = max(1, int(total_steps * warmup_fraction))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor


def _save_weights(model: torch.nn.Module, folder: Path) -> None:
    """``folder/model.safetensors``, written whole or not at all."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / ".model.safetensors.tmp"
    try:
        save_file(state_without_ties(model), str(tmp))
        plain_mode(tmp)  # safetensors writes 0600
        tmp.replace(folder / "model.safetensors")
    finally:
        tmp.unlink(missing_ok=True)


def _save_checkpoint(folder: Path, model, optimizer, scheduler, state: TrainState,
                     extra: dict[str, Any]) -> None:
    """Write ``last/`` atomically: a crash mid-write leaves the previous one intact."""
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _save_weights(model, tmp)
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "state": asdict(state), "rng": torch.get_rng_state(), "extra": extra},
                   tmp / "trainer_state.pt")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # a full disk leaves no half checkpoint
        raise
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


def _load_checkpoint(folder: Path, model, optimizer, scheduler) -> TrainState:
    load_weights(model, folder / "model.safetensors")
    blob = torch.load(folder / "trainer_state.pt", weights_only=False)
    optimizer.load_state_dict(blob["optimizer"])
    scheduler.load_state_dict(blob["scheduler"])
    torch.set_rng_state(blob["rng"])
    return TrainState(**blob["state"])


def planned_epochs(cfg, steps_per_epoch: int, until_epoch: float | None = None) -> int:
    """Epochs to plan for: ``cfg.epochs``, stretched to reach ``cfg.min_steps`` optimizer
    steps (at most ``cfg.max_epochs``) so that a small dataset gets enough updates. When
    stretched, early stopping on dev waits until the floor is reached (a model that starts
    on a plateau, e.g. predicting the majority class, gets its steps).

    The floor is off when ``cfg.max_steps`` caps training, and for a paused stretch
    (``until_epoch``: successive halving sets its own budget).

    >>> from types import SimpleNamespace as NS
    >>> planned_epochs(NS(epochs=1, min_steps=250, max_epochs=10, max_steps=None), 33)
    8
    >>> planned_epochs(NS(epochs=1, min_steps=250, max_epochs=10, max_steps=None), 280)
    1
    """
    floor = cfg.min_steps
    if not floor or cfg.max_steps or until_epoch is not None:
        return cfg.epochs
    need = math.ceil(floor / max(1, steps_per_epoch))
    return max(cfg.epochs, min(cfg.max_epochs, need))


def pause_step(until_epoch: float | None, steps_per_epoch: int, total_steps: int) -> int:
    """The optimizer step to pause at for ``until_epoch`` epochs (the nearest step, at
    least one; no pause: ``total_steps``).

    >>> pause_step(2, 10, 40), pause_step(0.25, 10, 40), pause_step(0.01, 10, 40)
    (20, 2, 1)
    >>> pause_step(None, 10, 40), pause_step(9, 10, 40)
    (40, 40)
    """
    if until_epoch is None:
        return total_steps
    return min(total_steps, max(1, round(until_epoch * steps_per_epoch)))


def _check_finite(model: torch.nn.Module, desc: str, state: TrainState) -> None:
    if not _finite(model):
        raise _diverged(desc, "some weights are not finite", state.epoch + 1, state.step)


def _checkpoint(ckpt_dir: Path, model, optimizer, scheduler, state: TrainState,
                extra: dict | None) -> None:
    """``last/`` written by the main rank, every rank waiting for it."""
    if distributed.is_main():
        _save_checkpoint(ckpt_dir / LAST, model, optimizer, scheduler, state, extra or {})
    distributed.barrier()


def train(model: torch.nn.Module, batches: Callable[[int], Iterable[dict]], n_batches: int,
          dev_score: Callable[[], float], cfg, ckpt_dir: Path, *, seed: int = 0,
          desc: str = "train", checkpoint_extra: dict | None = None,
          until_epoch: float | None = None,
          observe: Callable[[int, int, dict, Any], None] | None = None,
          loss_fn: Callable[[Any, dict], torch.Tensor] | None = None) -> TrainState:
    """Train ``model`` in place and leave it holding its best-on-dev weights.

    Parameters
    ----------
    model
        A module whose forward takes a batch dict and returns an object with ``.loss``.
    batches
        ``batches(epoch)`` yields the training batches of that epoch (shuffled by the
        caller with a seed derived from ``epoch``, so a resumed run sees the same order).
    n_batches
        Batches per epoch (for the schedule and the progress bar).
    dev_score
        Returns the dev score of the current model; higher is better.
    cfg
        A :class:`greennlp.config.TrainConfig`.
    ckpt_dir
        Holds ``last/`` (resume point) and ``best/`` (best dev weights).
    checkpoint_extra
        Saved inside every checkpoint (e.g. what rebuilds the model).
    until_epoch
        Pause after this many epochs (a later call resumes). The learning-rate schedule
        still spans ``cfg.epochs``, so pausing and resuming equals one uninterrupted run:
        this is how successive halving grows a trial's budget rung by rung. A fraction
        pauses inside an epoch, at the optimizer step nearest to it (at least one step):
        the model is scored on dev there (``TrainState.paused_score``, which neither
        early stopping nor the best weights see) and the resumed run skips the batches
        of that epoch already trained (early-stopped seeds score this way).
    observe
        Called as ``observe(epoch, batch_index, batch, output)`` after each forward
        (e.g. :class:`greennlp.train.dynamics.DynamicsRecorder` reads the logits).
    loss_fn
        ``loss_fn(output, batch)`` replaces the model's own ``output.loss`` (e.g. a
        class-weighted cross-entropy from ``output.logits``).

    Returns
    -------
    TrainState
        Epochs run, best dev score and epoch, per-epoch history, early stop flag.

    Notes
    -----
    Data-parallel: pass a ``DistributedDataParallel`` model and give each rank its own
    shard of the batches (same count on every rank) and a dev score that is the same
    on every rank; the train loss is averaged over ranks and only rank 0 writes files.
    """
    device = next(model.parameters()).device
    if not distributed.active():  # torchrun placed each rank's model already
        device = training_device(cfg.device)
        model.to(device)
    bf16 = use_bf16(cfg.precision, device)
    steps_per_epoch = math.ceil(n_batches / cfg.grad_accum_steps)
    epochs = planned_epochs(cfg, steps_per_epoch, until_epoch)
    floor = cfg.min_steps if epochs > cfg.epochs else 0  # no early stop before it
    total_steps = steps_per_epoch * epochs
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    optimizer = make_optimizer(model, cfg)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer,
                                                  warmup_linear(total_steps, cfg.warmup_fraction))
    ckpt_dir = Path(ckpt_dir)
    torch.manual_seed(seed)
    state = TrainState()
    if (ckpt_dir / LAST / "trainer_state.pt").exists():
        state = _load_checkpoint(ckpt_dir / LAST, model, optimizer, scheduler)
        state.resumed_from_epoch, state.paused_score = state.epoch, None
    done = state.stopped_early or state.epoch >= epochs or state.step >= total_steps
    pause_at = pause_step(until_epoch, steps_per_epoch, total_steps)
    todo = (min(pause_at, total_steps) - state.step) * cfg.grad_accum_steps
    with progress_bar(desc, total=max(0, todo), disable=done or state.step >= pause_at) as bar:
        while not done and state.step < pause_at:
            t0 = time.perf_counter() - state.epoch_seconds
            loss_sum, seen, skip = state.epoch_loss_sum, state.epoch_seen, state.batch
            model.train()
            optimizer.zero_grad(set_to_none=True)
            paused = False
            for i, batch in enumerate(batches(state.epoch)):
                if i < skip:  # trained before the pause: the same order, so the same batches
                    continue
                batch = _to(batch, device)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                    output = model(**batch)
                    loss = output.loss if loss_fn is None else loss_fn(output, batch)
                value = loss.item()
                if not math.isfinite(value):
                    raise _diverged(desc, f"the training loss is {value}", state.epoch + 1,
                                    state.step)
                if observe is not None:
                    observe(state.epoch, i, batch, output)
                (loss / cfg.grad_accum_steps).backward()
                loss_sum, seen = loss_sum + value, seen + 1
                if (i + 1) % cfg.grad_accum_steps == 0 or i + 1 == n_batches:
                    if cfg.max_grad_norm > 0:
                        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                    state.step += 1
                    paused = state.step >= pause_at < total_steps and i + 1 < n_batches
                bar.advance(loss=loss_sum / seen, epoch=state.epoch + 1)
                if state.step >= total_steps or paused:
                    break
            if paused:  # inside the epoch: keep where it is, score it on dev, checkpoint
                _check_finite(model, desc, state)
                state.batch, state.epoch_loss_sum, state.epoch_seen = i + 1, loss_sum, seen
                state.epoch_seconds = time.perf_counter() - t0
                state.paused_score = float(dev_score())
                _checkpoint(ckpt_dir, model, optimizer, scheduler, state, checkpoint_extra)
                break
            state.batch, state.epoch_seen = 0, 0  # a whole epoch from here on
            state.epoch_loss_sum = state.epoch_seconds = 0.0
            loss_sum, seen = distributed.sum_across([loss_sum, seen])
            _check_finite(model, desc, state)
            score = float(dev_score())
            state.history.append({"epoch": state.epoch + 1, "train_loss": loss_sum / max(1, seen),
                                  "dev_score": score, "lr": scheduler.get_last_lr()[0],
                                  "duration_s": time.perf_counter() - t0, "steps": state.step})
            if score > state.best_score:
                state.best_score, state.best_epoch, state.bad_epochs = score, state.epoch + 1, 0
                if distributed.is_main():
                    _save_weights(model, ckpt_dir / BEST)
            else:
                state.bad_epochs += 1
            state.epoch += 1
            state.stopped_early = (state.bad_epochs >= cfg.patience and state.epoch < epochs
                                   and state.step >= floor)
            done = state.stopped_early or state.epoch >= epochs or state.step >= total_steps
            state.finished = done
            _checkpoint(ckpt_dir, model, optimizer, scheduler, state, checkpoint_extra)
    state.finished = done
    if (ckpt_dir / BEST / "model.safetensors").exists():
        load_weights(model, ckpt_dir / BEST / "model.safetensors")
    if not distributed.active():
        model.to("cpu")  # evaluated, timed and compressed where it will be served
    return state
