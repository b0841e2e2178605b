"""Training language models with the shared loop: token blocks, dev perplexity, throughput.

Training text is the training documents joined by end-of-text tokens into one stream,
cut into blocks of ``context + 1`` tokens (inputs and their next-token targets),
shuffled per epoch with a seed derived from the epoch (so a resumed run sees the same
order). Under data parallelism each rank takes every ``world``-th batch of that order.
The dev score is minus the dev cross-entropy (nats per token) on a fixed subsample of
dev documents, summed over ranks. Throughput counts training time only: the time spent
scoring dev is measured and taken out.
"""

from __future__ import annotations

import dataclasses

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch

from greennlp.train import distributed
from greennlp.train.loop import train


def token_blocks(docs: Sequence[Sequence[int]], eos_id: int, context: int) -> np.ndarray:
    """Blocks of ``context + 1`` tokens of the ``<eot> doc <eot> doc ...`` stream.

    >>> token_blocks([[5, 6], [7]], eos_id=0, context=2).tolist()
    [[0, 5, 6], [6, 0, 7]]
    """
    stream = np.fromiter((t for d in docs for t in (eos_id, *d)), dtype=np.int64)
    stream = np.append(stream, eos_id)
    n = (len(stream) - 1) // context
    if n == 0:
        raise ValueError(f"{len(stream)} tokens are too few for one block of {context}")
    idx = np.arange(n)[:, None] * context + np.arange(context + 1)[None, :]
    return stream[idx]


def epoch_batches(n_blocks: int, batch_size: int, seed: int, epoch: int,
                  weights: np.ndarray | None = None) -> list[np.ndarray]:
    """This rank's batches (block indices) for one epoch; equal counts on every rank.

    With ``weights`` (temperature sampling by language, :mod:`greennlp.data.languages`)
    an epoch draws as many blocks as there are, with replacement, each with probability
    proportional to its weight; without, it is a permutation of the blocks.
    """
    rng = np.random.default_rng(seed + epoch)
    order = (rng.permutation(n_blocks) if weights is None else
             rng.choice(n_blocks, size=n_blocks, p=np.asarray(weights) / np.sum(weights)))
    world, rank = distributed.world_size(), distributed.rank()
    if n_blocks < world:
        raise ValueError(f"{n_blocks} training blocks cannot be shared by {world} workers")
    n_batches = n_blocks // (batch_size * world) if n_blocks >= batch_size * world else 0
    if n_batches == 0:  # fewer blocks than one global batch: smaller batches, one each
        per = max(1, n_blocks // world)
        return [order[rank * per:(rank + 1) * per]]
    return [order[(i * world + rank) * batch_size:(i * world + rank + 1) * batch_size]
            for i in range(n_batches)]


def dev_scorer(score_texts: Callable, texts: Sequence[str]) -> Callable[[], float]:
    """Minus the dev cross-entropy (nats/token); each rank scores its share, summed.

    The returned function also accumulates the seconds it spends in ``.seconds``.
    """
    mine = list(texts)[distributed.rank()::distributed.world_size()]

    def score() -> float:
        t0 = time.perf_counter()
        nll, tokens = score_texts(mine) if mine else (np.zeros(0), np.zeros(0))
        total_nll, total_tokens = distributed.sum_across([nll.sum(), tokens.sum()])
        score.seconds += time.perf_counter() - t0
        return -total_nll / max(1.0, total_tokens)

    score.seconds = 0.0
    return score


def log_segments(total: int, points: int) -> list[int]:
    """Batch counts at which to stop and score: ``points`` log-spaced ends up to ``total``.

    >>> log_segments(64, 4)
    [0, 8, 16, 32, 64]
    """
    ends = sorted({max(1, round(total * 2.0 ** (k - points + 1))) for k in range(points)})
    return [0] + ends


def fit_blocks(module: torch.nn.Module, blocks: np.ndarray, make_batch: Callable[[np.ndarray, int], dict],
               dev_score: Callable[[], float], cfg, ckpt_dir: Path, *, seed: int, desc: str,
               extra: dict | None = None, eval_points: int | None = None,
               weights: np.ndarray | None = None) -> dict[str, Any]:
    """Train ``module`` on ``blocks`` with the shared loop; return facts for the record.

    ``make_batch(rows, batch_index)`` turns a (batch, context + 1) array into the
    module's keyword arguments (next-token or masked-token targets). With
    ``eval_points`` the data is seen once (at most ``cfg.max_steps`` batches), and the
    loop's "epochs" are log-spaced segments of it, so the dev loss is known at several
    amounts of compute (for scaling fits); the schedule still spans the whole run.
    ``weights``: each block's sampling weight (:func:`epoch_batches`).
    """
    model = distributed.wrap(module)
    one_pass = epoch_batches(len(blocks), cfg.batch_size, seed, 0, weights)
    if eval_points:
        total = min(len(one_pass), cfg.max_steps or len(one_pass))
        bounds = log_segments(total, eval_points)
        cfg = replace(cfg, epochs=len(bounds) - 1, max_steps=total, grad_accum_steps=1,
                      patience=len(bounds))
        n_batches = total

        def batches(epoch: int) -> Iterator[dict]:
            for i in range(bounds[epoch], bounds[epoch + 1]):
                yield make_batch(blocks[one_pass[i]], i)
    else:
        n_batches = len(one_pass)

        def batches(epoch: int) -> Iterator[dict]:
            for i, idx in enumerate(epoch_batches(len(blocks), cfg.batch_size, seed, epoch,
                                                  weights)):
                yield make_batch(blocks[idx], epoch * n_batches + i)

    state = train(model, batches, n_batches, dev_score, cfg, ckpt_dir, seed=seed, desc=desc,
                  checkpoint_extra=extra)
    module.eval()
    tokens_per_batch = cfg.batch_size * (blocks.shape[1] - 1) * distributed.world_size()
    batches_done = min(state.step * cfg.grad_accum_steps, state.epoch * n_batches)
    if eval_points:
        batches_done = state.step
    # Throughput from the epochs run in this process, without the time spent on dev.
    first = state.resumed_from_epoch or 0
    ran = state.history[first:]
    steps_here = (ran[-1]["steps"] - (state.history[first - 1]["steps"] if first else 0)) if ran else 0
    train_s = sum(h["duration_s"] for h in ran) - getattr(dev_score, "seconds", 0.0)
    tokens_here = (steps_here if eval_points else min(steps_here * cfg.grad_accum_steps,
                                                      len(ran) * n_batches)) * tokens_per_batch
    return {
        "epochs_run": state.epoch, "steps": state.step, "best_epoch": state.best_epoch,
        "best_dev_loss": -state.best_score, "best_dev_perplexity": math.exp(-state.best_score),
        "stopped_early": state.stopped_early, "resumed_from_epoch": state.resumed_from_epoch,
        "history": state.history, "tokens_trained": int(batches_done * tokens_per_batch),
        "train_time_s": train_s, "dev_scoring_s": getattr(dev_score, "seconds", 0.0),
        "tokens_per_s": tokens_here / train_s if ran and train_s > 0 else None,
        "world_size": distributed.world_size(),
        "config": dataclasses.asdict(cfg),
    }


def causal_batch(device: torch.device) -> Callable[[np.ndarray, int], dict]:
    """Next-token prediction: inputs are a block's first ``context`` tokens."""
    def make(rows: np.ndarray, _: int) -> dict:
        t = torch.from_numpy(rows).to(device)
        return {"input_ids": t[:, :-1], "labels": t[:, 1:]}
    return make
