"""Early exit (Schwartz et al. 2020), the compression side: exits added to a copy of a
trained classifier, their temperatures fitted on dev. The model itself (the layer loop
that lets examples leave at their exit) is :mod:`greennlp.models.early_exit`.
"""

from __future__ import annotations

import copy
from typing import Sequence

import numpy as np
from torch import nn

from greennlp.compress.calibration import calibration_report, fit_temperature
from greennlp.models.early_exit import EarlyExitNet


def calibrate(net: EarlyExitNet, dev_logits: Sequence[np.ndarray], dev_labels: np.ndarray) -> list[dict]:
    """Fit each exit's temperature on dev; store them in the net; NLL/ECE before and after."""
    reports = []
    for i, lg in enumerate(dev_logits):
        temp = fit_temperature(lg, dev_labels)
        net.temperatures[i] = temp
        reports.append({"exit_layer": net.depths[i], **calibration_report(lg, dev_labels, temp)})
    return reports


def copy_with_exits(base: nn.Module, exit_layers: Sequence[int] | None) -> EarlyExitNet:
    """An :class:`EarlyExitNet` over a copy of ``base``; default exits after every layer."""
    depth = base.config.num_hidden_layers
    layers = list(range(1, depth)) if not exit_layers else list(exit_layers)
    return EarlyExitNet(copy.deepcopy(base), layers)
