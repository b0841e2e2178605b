"""Hyperparameter search: spaces, random / grid / ASHA, executors, expected validation performance."""
