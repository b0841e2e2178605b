"""TF-IDF + logistic regression: the baseline every neural model has to beat."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from greennlp.errors import UserError
from greennlp.memo import Recent, texts_digest
from greennlp.models.accounting import MATMUL_NOTE, linear_model_flops
from greennlp.models.checkpoints import write_folder
from greennlp.models.serving import Predicts

SKOPS_FILE, JOBLIB_FILE = "model.skops", "model.joblib"
VOCAB_FILE = "vocabulary.json"  # the TF-IDF vocabulary, beside the skops file (see save)


# Pipelines fitted in this process, by _fit_key (see TfidfLogReg.fit).
_fitted = Recent(4)


def _fit_key(pipeline: Pipeline, texts: list[str], labels: list) -> str:
    """Every input of a fit: the estimators' settings, the texts and the labels. The seed
    only counts for solvers that draw random numbers (lbfgs, the default, draws none)."""
    params = pipeline.get_params(deep=True)
    if params["logreg__solver"] not in ("sag", "saga", "liblinear"):
        params["logreg__random_state"] = None
    settings = {k: repr(v) for k, v in params.items() if "__" in k}  # not the estimators
    return texts_digest([json.dumps(settings, sort_keys=True), texts_digest(texts),
                         texts_digest([f"{type(y).__name__}:{y}" for y in labels])])


class TfidfLogReg(Predicts):
    """Word (or character) n-gram TF-IDF features and an L2-regularised logistic regression.

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
        """Learn the vocabulary, IDF weights and classifier; returns self.

        The fit is deterministic, so a pipeline already fitted in this process with the
        same settings on the same texts and labels (the seed replicas of the selected
        search trial) is copied instead of fitted again: the same numbers, bit for bit.
        """
        texts, labels = list(texts), list(labels)
        pipeline = Pipeline([
            ("tfidf", TfidfVectorizer(analyzer=self.cfg.analyzer,
                                      ngram_range=(self.cfg.ngram_min, self.cfg.ngram_max),
                                      min_df=self.cfg.min_df, max_features=self.cfg.max_features,
                                      sublinear_tf=True)),
            ("logreg", LogisticRegression(C=self.cfg.C, max_iter=2000, random_state=self.seed)),
        ])

        def fit() -> Pipeline:
            # One BLAS thread: L-BFGS-B's own linear algebra (scipy's setulb) works on
            # vectors of ~1e5 weights, where OpenBLAS threads cost more than they give. On
            # a busy 2-core machine the 12 default search fits took 152 s with two threads
            # and 8.5 s with one; the selected fit's probabilities moved by < 1e-8 and no
            # dev or test prediction of any trial changed.
            with threadpool_limits(limits=1, user_api="blas"):
                return pipeline.fit(texts, labels)
        fitted = _fitted.get_or_make(_fit_key(pipeline, texts, labels), fit)
        self.pipeline_ = copy.deepcopy(fitted)  # save() edits it for a moment
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
        """Write ``model.skops`` (the scikit-learn pipeline in skops format, the Hugging Face
        Hub's convention: loading it runs no code) and the metadata that names the family.

        The vocabulary goes to ``vocabulary.json`` instead: skops writes every entry of a
        dict as its own object, which took 20 s and 155 MB for a 240k-term vocabulary
        (a 1-3-gram search trial) where the JSON takes well under a second.
        """
        return write_folder(folder, {"family": self.family, "labels": self.labels,
                                     "format": "skops"}, files=self._write_pipeline)

    def _write_pipeline(self, folder: Path) -> None:
        import skops.io

        tfidf = self.pipeline_.named_steps["tfidf"]
        vocabulary = tfidf.vocabulary_
        (folder / VOCAB_FILE).write_text(json.dumps({t: int(i) for t, i in vocabulary.items()}))
        tfidf.vocabulary_ = {}
        try:
            skops.io.dump(self.pipeline_, folder / SKOPS_FILE)
        finally:
            tfidf.vocabulary_ = vocabulary

    @classmethod
    def load(cls, folder: Path, cfg=None) -> "TfidfLogReg":
        """Reopen a folder written by :meth:`save` (or a ``model.joblib`` of older versions)."""
        obj = cls(cfg)
        obj.pipeline_ = load_pipeline(Path(folder))
        obj.labels = [str(c) for c in obj.pipeline_.classes_]
        return obj


def load_pipeline(folder: Path):
    """The scikit-learn pipeline of a TF-IDF folder.

    ``model.skops`` loads with skops' default trust (scikit-learn, numpy and scipy types
    only); any other type in the file is refused with a :class:`UserError`. Folders written
    before skops hold ``model.joblib``, a pickle that can run code when loaded: it loads,
    with a warning to load only files you made.
    """
    if (folder / SKOPS_FILE).exists():
        import skops.io

        untrusted = skops.io.get_untrusted_types(file=folder / SKOPS_FILE)
        if untrusted:
            raise UserError(f"{folder / SKOPS_FILE} holds types skops does not trust "
                            f"({', '.join(untrusted)}); load only model files you made.")
        pipeline = skops.io.load(folder / SKOPS_FILE)
        if (folder / VOCAB_FILE).exists():
            pipeline.named_steps["tfidf"].vocabulary_ = json.loads((folder / VOCAB_FILE).read_text())
        return pipeline
    import joblib

    warnings.warn(f"{folder / JOBLIB_FILE} is a pickle (written by greennlp before 0.2), which "
                  f"can run code when loaded; load only files you made.", UserWarning, stacklevel=3)
    return joblib.load(folder / JOBLIB_FILE)
