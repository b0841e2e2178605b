"""Temperature scaling (Guo et al. 2017) and the calibration scores it is judged by.

One scalar temperature per classifier is fitted on dev by minimising the negative log
likelihood; it changes confidences, never the argmax. Early exit needs calibrated
confidences, since one threshold is compared against every exit's confidence.

>>> import numpy as np
>>> logits = np.array([[4.0, 0.0], [0.0, 4.0], [4.0, 0.0], [0.0, 4.0]])
>>> labels = np.array([0, 1, 1, 0])
>>> round(fit_temperature(logits, labels), 1) > 10.0   # half wrong: flatten a lot
True
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0
                            ) -> float:
    """Mean NLL of the true labels under ``softmax(logits / temperature)``."""
    logp = log_softmax(np.asarray(logits, dtype=float) / temperature, axis=-1)
    return float(-logp[np.arange(len(labels)), np.asarray(labels)].mean())


def expected_calibration_error(proba: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> float:
    """ECE: confidence-weighted gap between confidence and accuracy, equal-width bins.

    >>> expected_calibration_error(np.array([[0.9, 0.1], [0.9, 0.1]]), np.array([0, 1]))
    0.4
    """
    proba = np.asarray(proba, dtype=float)
    conf, pred = proba.max(-1), proba.argmax(-1)
    correct = pred == np.asarray(labels)
    # Bin i holds confidences in (i/n, (i+1)/n]; a confidence of exactly 0 joins bin 0.
    bins = np.clip(np.ceil(conf * n_bins).astype(int) - 1, 0, n_bins - 1)
    ece = 0.0
    for b in np.unique(bins):
        sel = bins == b
        ece += sel.mean() * abs(conf[sel].mean() - correct[sel].mean())
    return round(float(ece), 12)


def fit_temperature(logits: np.ndarray, labels: np.ndarray, low: float = 0.05,
                    high: float = 50.0) -> float:
    """The temperature in ``[low, high]`` that minimises dev NLL.

    A bounded 1-D search over log T (scipy's Brent method): the NLL is smooth and
    unimodal in log T, so this finds the optimum without step-size tuning.
    """
    logits, labels = np.asarray(logits, dtype=float), np.asarray(labels)
    result = minimize_scalar(lambda log_t: negative_log_likelihood(logits, labels, np.exp(log_t)),
                             bounds=(np.log(low), np.log(high)), method="bounded",
                             options={"xatol": 1e-4})
    best = float(np.exp(result.x))
    # Never return something worse than no scaling at all.
    if negative_log_likelihood(logits, labels, best) > negative_log_likelihood(logits, labels):
        return 1.0
    return best


def calibration_report(logits: np.ndarray, labels: np.ndarray, temperature: float
                       ) -> dict[str, float]:
    """NLL and ECE before and after scaling by ``temperature``."""
    logits = np.asarray(logits, dtype=float)
    return {
        "temperature": temperature,
        "nll_before": negative_log_likelihood(logits, labels),
        "nll_after": negative_log_likelihood(logits, labels, temperature),
        "ece_before": expected_calibration_error(softmax(logits, -1), labels),
        "ece_after": expected_calibration_error(softmax(logits / temperature, -1), labels),
    }
