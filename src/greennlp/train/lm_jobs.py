"""One training job description, run in-process (alone or under torchrun) or on Ray Train.

A job is a plain dict (so it crosses process boundaries): the model family and spec,
the tokenizer and token-block files, dev texts, training settings, checkpoint and
output folders. :func:`run_job` trains in the current process group; rank 0 saves the
final model. :func:`run_job_on_ray` starts ``workers`` Ray Train workers that each run
the same :func:`run_job` (Ray Train sets up the gloo / NCCL process group), and returns
rank 0's result. Each job also reports the CPU-seconds its workers used, since worker
processes that are not this process's children are invisible to the energy estimate.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from greennlp.config import TrainConfig
from greennlp.models import family
from greennlp.train import distributed
from greennlp.models.mlm import masked_batch
from greennlp.train.lm import causal_batch, dev_scorer, fit_blocks

INFO_FILE = "train_info.json"


def build_model(job: dict[str, Any]):
    """The job's untrained model (a ``blocks`` family of the table), seeded."""
    from greennlp.models.lm_tokenizer import LmTokenizer

    tokenizer = LmTokenizer.load(Path(job["tokenizer"]))
    return family(job["family"]).build(job["spec"], tokenizer, job["context_length"],
                                       job["mask_fraction"], job["seed"])


def run_job(job: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Train the job's model here (every rank of a process group calls this)."""
    cpu0 = time.process_time()
    model = build_model(job)
    tok = model.tokenizer
    blocks = np.load(job["blocks"])
    if family(job["family"]).masked:
        make_batch = masked_batch(torch.device("cpu"), tok.vocab_size, tok.mask_id,
                                  job["mask_fraction"], job["seed"],
                                  [tok.eos_id, tok.pad_id, tok.mask_id])
    else:
        make_batch = causal_batch(torch.device("cpu"))
    cfg = TrainConfig(**job["train"])
    weights = np.load(job["block_weights"]) if job.get("block_weights") else None
    info = fit_blocks(model.module, blocks, make_batch, dev_scorer(model.score_texts, job["dev_texts"]),
                      cfg, Path(job["ckpt_dir"]), seed=job["seed"], desc=job.get("desc", "train"),
                      extra={"family": job["family"], "spec": job["spec"]},
                      eval_points=job.get("eval_points"), weights=weights)
    own_cpu_s = time.process_time() - cpu0
    others = distributed.sum_across([0.0 if distributed.is_main() else own_cpu_s])[0]
    info["worker_cpu_s"] = others if job.get("local") else others + own_cpu_s
    if distributed.is_main():
        model.save(Path(job["out_dir"]))
        Path(job["out_dir"], INFO_FILE).write_text(json.dumps(info, default=float))
    distributed.barrier()
    return model, info


def _ray_worker(job: dict[str, Any]) -> None:
    torch.set_num_threads(1)  # each worker is given one CPU
    run_job(dict(job, local=False))


def run_job_on_ray(job: dict[str, Any], workers: int) -> dict[str, Any]:
    """Train with ``workers`` Ray Train workers (one CPU each); returns rank 0's facts."""
    try:
        import ray
        from ray.train import RunConfig, ScalingConfig
        from ray.train.torch import TorchTrainer
    except ImportError:
        from greennlp.errors import UserError

        raise UserError("lm.executor=ray needs Ray Train; install it with "
                        "`pip install 'greennlp[ray]'` or set lm.executor=local.") from None
    # The pipeline keeps one Ray instance for the whole run (see ray_cluster): shutting Ray
    # down inside a measured stage would fold the workers' CPU time into this process's.
    started = not ray.is_initialized()
    if started:
        start_ray(workers)
    try:
        storage = Path(job["ckpt_dir"]).resolve().parent / "ray"
        trainer = TorchTrainer(_ray_worker, train_loop_config=job,
                               scaling_config=ScalingConfig(num_workers=workers, use_gpu=False,
                                                            resources_per_worker={"CPU": 1}),
                               run_config=RunConfig(storage_path=str(storage),
                                                    name=Path(job["out_dir"]).parent.name))
        trainer.fit()
    finally:
        if started:
            ray.shutdown()
    return json.loads(Path(job["out_dir"], INFO_FILE).read_text())


def start_ray(workers: int) -> None:
    """A local Ray instance with room for ``workers`` one-CPU workers."""
    import ray

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a local, single-user cluster
    ray.init(num_cpus=max(workers, os.cpu_count() or 1), include_dashboard=False,
             log_to_driver=False, configure_logging=False)


@contextmanager
def ray_cluster(enabled: bool, workers: int) -> Iterator[None]:
    """Start Ray for the duration of a run (when ``enabled``) and shut it down after."""
    if not enabled:
        yield
        return
    import ray

    started = not ray.is_initialized()
    if started:
        start_ray(workers)
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def make_job(*, family: str, spec: dict, tokenizer: Path, blocks: Path, dev_texts: list[str],
             train: TrainConfig, folder: Path, seed: int, context_length: int,
             mask_fraction: float = 0.15, eval_points: int | None = None, desc: str = "",
             block_weights: Path | None = None) -> dict:
    """A job dict: checkpoints under ``folder/checkpoints``, the model in ``folder/final``;
    ``block_weights``: a ``.npy`` of each block's sampling weight (temperature sampling by
    language), None to see every block once per epoch.

    Paths are made absolute: Ray workers do not start in this process's directory."""
    folder, tokenizer, blocks = (Path(p).resolve() for p in (folder, tokenizer, blocks))
    return {"family": family, "spec": spec, "tokenizer": str(tokenizer), "blocks": str(blocks),
            "dev_texts": list(dev_texts), "train": {k: getattr(train, k) for k in
                                                    train.__dataclass_fields__},
            "ckpt_dir": str(folder / "checkpoints"), "out_dir": str(folder / "final"),
            "seed": seed, "context_length": context_length, "mask_fraction": mask_fraction,
            "eval_points": eval_points, "desc": desc or f"train {family}", "local": True,
            "block_weights": str(Path(block_weights).resolve()) if block_weights else None}


