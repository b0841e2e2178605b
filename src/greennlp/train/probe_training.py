"""MAP-D's training run: the cheapest neural classifier trained on train + probe suites,
with every example's training dynamics recorded (:mod:`greennlp.train.dynamics`).

It trains on one thread: the model is tiny (1 layer, 64 wide), so a second thread gains
little, while on a shared 2-core machine idle OpenMP threads that spin made its steps
10x slower (10 steps: 47-59 s with 2 threads against 4.8-5.6 s with 1, measured with
other jobs on the cores; `greennlp run` leaves OpenMP spinning for the large models).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from greennlp.data.probes import add_probes
from greennlp.data.split import Splits
from greennlp.errors import UserError
from greennlp.models.families import family
from greennlp.train.classifiers import fit_family
from greennlp.train.dynamics import load_dynamics


SMALL_ENCODER_LR = 3e-3  # the 1-layer, 64-wide encoder from scratch learns at this rate


def probe_section(section, acfg):
    """The family's settings, made small and fast as the audit settings say (a 1-layer
    encoder ``acfg.dynamics_width`` wide: cheap enough for every run). A family that is
    not shrunk (a pretrained encoder, whose trajectories separate flipped labels far better:
    ``benchmarks/label_noise.py``) keeps its own learning rate unless ``acfg.dynamics_lr``
    says otherwise."""
    shrink = acfg.dynamics_width is not None and hasattr(section, "hidden_size")
    lr = acfg.dynamics_lr or (SMALL_ENCODER_LR if shrink else section.train.lr)
    train = replace(section.train, epochs=acfg.dynamics_epochs, patience=acfg.dynamics_epochs,
                    lr=lr, batch_size=acfg.dynamics_batch_size, min_steps=0)  # exactly these epochs
    if not shrink:
        return replace(section, train=train)
    width = acfg.dynamics_width
    return replace(section, hidden_size=width, num_layers=1, num_heads=2,
                   intermediate_size=2 * width, train=train)


def fit_with_probes(name: str, section, splits: Splits, probe_size: int, epochs: int, seed: int,
                    folder: Path, train: pd.DataFrame | None = None
                    ) -> tuple[pd.DataFrame, np.ndarray, dict[str, np.ndarray], dict[str, Any]]:
    """Train family ``name`` with config ``section`` for ``epochs`` epochs (no early stop)
    on ``train`` (default: the training split) plus probes.

    Returns
    -------
    (DataFrame, ndarray, dict, dict)
        The training frame with the probes appended, each row's suite ("" = none), the
        dynamics (``loss``, ``prob``, ``correct``: epochs x rows) and training facts.
    """
    if family(name).training != "epochs":
        raise UserError(f"audit.dynamics_model is '{name}', which is not trained by epochs; "
                        f"use transformer.")
    train = splits.train if train is None else train
    with_probes, suites = add_probes(train, probe_size, seed)
    probe_splits = Splits(with_probes, splits.dev, splits.test, splits.info)
    section = replace(section, train=replace(section.train, epochs=epochs, patience=epochs))
    folder = Path(folder)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _, info = fit_family(name, section, probe_splits, seed, folder,
                             desc=f"audit: {name} + probes")
    finally:
        torch.set_num_threads(threads)
    return with_probes, suites, load_dynamics(folder / "dynamics.npz"), info
