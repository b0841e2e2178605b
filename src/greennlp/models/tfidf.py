"""TF-IDF + logistic regression: the baseline every neural model has to beat."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import joblib
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from greennlp.models.accounting import MATMUL_NOTE, linear_model_flops
from greennlp.models.checkpoints import META_NAME


class TfidfLogReg:
    """Word n-gram TF-IDF features and an L2-regularised logistic regression.

    Parameters
    ----------
    cfg
        A :class:`greennlp.config.TfidfConfig`.
    seed
        Random state of the solver.
    """

    family = "tfidf_logreg"
    flops_note = MATMUL_NOTE + "; TF-IDF feature extraction not counted"

    def __init__(self, cfg, seed: int = 0) -> None:
        self.cfg = cfg
        self.seed = seed

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> "TfidfLogReg":
        """Learn the vocabulary, IDF weights and classifier; returns self."""
        self.pipeline_ = Pipeline([
            ("tfidf", TfidfVectorizer(ngram_range=(1, self.cfg.ngram_max), min_df=self.cfg.min_df,
                                      max_features=self.cfg.max_features, sublinear_tf=True)),
            ("logreg", LogisticRegression(C=self.cfg.C, max_iter=2000, random_state=self.seed)),
        ])
        self.pipeline_.fit(list(texts), list(labels))
        self.labels = [str(c) for c in self.pipeline_.classes_]
        return self

    def describe_fit(self) -> dict[str, int]:
        """Facts about the fitted model for the record: the size of the learned vocabulary."""
        return {"features": len(self.pipeline_.named_steps["tfidf"].vocabulary_)}

    def predict_proba(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """Class probabilities, columns in ``self.labels`` order."""
        return self.pipeline_.predict_proba(list(texts))

    def parameter_counts(self) -> dict[str, int]:
        """Learned weights: the classifier's coefficients and intercepts."""
        clf = self.pipeline_.named_steps["logreg"]
        total = int(clf.coef_.size + clf.intercept_.size)
        return {"total": total, "embedding": 0, "non_embedding": total}

    def flops_per_example(self, texts: Sequence[str]) -> float:
        """Mean FLOPs of the linear layer over ``texts`` (feature extraction excluded)."""
        features = self.pipeline_.named_steps["tfidf"].transform(list(texts))
        n_outputs = self.pipeline_.named_steps["logreg"].coef_.shape[0]
        return linear_model_flops(features.nnz / max(1, features.shape[0]), n_outputs)

    def save(self, folder: Path) -> Path:
        """Write ``model.joblib`` (a scikit-learn pipeline; load only files you made) and the
        metadata that names the family."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.pipeline_, folder / "model.joblib")
        (folder / META_NAME).write_text(json.dumps({"family": self.family, "labels": self.labels}))
        return folder

    @classmethod
    def load(cls, folder: Path, cfg=None) -> "TfidfLogReg":
        obj = cls(cfg)
        obj.pipeline_ = joblib.load(Path(folder) / "model.joblib")
        obj.labels = [str(c) for c in obj.pipeline_.classes_]
        return obj
