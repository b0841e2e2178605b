"""What a greennlp run gives MLflow besides numbers: its model, its data and where it came
from (:class:`greennlp.integrations.mlflow.MlflowRun` calls these when a run finishes).

* The model the run selected (:meth:`RunRecord.select`): an encoder classifier with the
  ``transformers`` flavour (a text-classification pipeline), any other (TF-IDF) as a
  ``pyfunc`` model that greennlp opens; its ONNX variant, when the run made one, with the
  ``onnx`` flavour. With a registry name (``track.mlflow_register``) the selected model
  is registered as a new version.
* The data: each split of the run folder as a dataset input (``train``, ``dev``,
  ``test``), with MLflow's digest of its rows and its size.

MLflow is imported here only (the ``mlflow`` extra): this module is imported once the
tracking store was reached, so mlflow is there.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from mlflow.pyfunc import PythonModel

from greennlp.record import ModelResult, RunRecord

SPLITS = ("train", "dev", "test")
MODEL_NAME, ONNX_NAME = "model", "onnx_model"


class GreenNLPModel(PythonModel):
    """A greennlp model folder as an MLflow ``pyfunc`` model: ``predict`` takes a list of
    texts and returns a frame of ``label`` and one probability column per label. It is
    logged as code (:mod:`greennlp.integrations.mlflow_pyfunc`), not pickled."""

    def load_context(self, context: Any) -> None:
        from greennlp.models import load_model

        self.model = load_model(context.artifacts["model"])

    def predict(self, context: Any, model_input: list[str], params: dict | None = None):
        """Labels and probabilities of the texts (no return hint: MLflow reads the model's
        signature from the hints, and has no type for a frame of these columns)."""
        import pandas as pd

        proba = self.model.predict_proba([str(t) for t in model_input])
        frame = pd.DataFrame(proba, columns=[f"p_{label}" for label in self.model.labels])
        frame.insert(0, "label", [self.model.labels[i] for i in proba.argmax(1)])
        return frame


@contextmanager
def tracking(uri: str | None) -> Iterator[Any]:
    """MLflow's fluent API on store ``uri`` (None: as configured); afterwards the tracking
    URI is as it was, set or not (``set_tracking_uri`` also writes the environment
    variable MLFLOW_TRACKING_URI, which a Trainer's MLflowCallback reads later)."""
    import mlflow

    env = os.environ.get("MLFLOW_TRACKING_URI")
    before = mlflow.get_tracking_uri() if mlflow.tracking.is_tracking_uri_set() else None
    if uri:
        mlflow.set_tracking_uri(uri)
    try:
        yield mlflow
    finally:
        if uri:
            mlflow.set_tracking_uri(before)
            if env is None:
                os.environ.pop("MLFLOW_TRACKING_URI", None)
            else:
                os.environ["MLFLOW_TRACKING_URI"] = env


@contextmanager
def active(uri: str | None, run_id: str) -> Iterator[Any]:
    """MLflow's fluent API inside run ``run_id`` of store ``uri`` (the model flavours and
    ``log_input`` log into the active run)."""
    with tracking(uri) as mlflow, \
            mlflow.start_run(run_id=run_id, nested=mlflow.active_run() is not None):
        yield mlflow


def log_inputs(mlflow: Any, record: RunRecord) -> dict[str, int]:
    """Each split saved in the run folder as a dataset input; returns their sizes."""
    import warnings

    import pandas as pd

    folder = Path(record.run_dir) / "data"
    name = str(record.config.get("data", {}).get("source") or "data")
    sizes = {}
    for split in SPLITS:
        path = folder / f"{split}.parquet"
        if not path.exists():
            continue
        frame = pd.read_parquet(path)
        with warnings.catch_warnings():  # a local path "can be interpreted in multiple ways"
            warnings.simplefilter("ignore", UserWarning)
            dataset = mlflow.data.from_pandas(frame, source=str(path), name=f"{name}:{split}",
                                              targets="label" if "label" in frame else None)
        mlflow.log_input(dataset, context=split)
        sizes[split] = len(frame)
    return sizes


def onnx_variant(record: RunRecord, model: ModelResult) -> ModelResult | None:
    """The ONNX variant the run made of ``model`` (its folder on this machine), or None."""
    return next((m for m in record.models if m.variant_of == model.name and m.checkpoint
                 and (Path(m.checkpoint) / "model.onnx").exists()), None)


def _card(path: Path) -> Any:
    from huggingface_hub import ModelCard

    return ModelCard.load(path)


def _requirements(*packages: str) -> list[str]:
    """Pinned requirements of the packages installed here (none inferred: MLflow's
    inference loads the model again in a subprocess)."""
    from importlib import metadata

    out = []
    for name in packages:
        try:
            out.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return out


def log_selected(mlflow: Any, record: RunRecord, register: str | None = None
                 ) -> dict[str, str]:
    """Log the run's selected model (and its ONNX variant); register the selected model
    under ``register``. Returns what was logged: flavour name -> model URI."""
    from greennlp.models import load_model

    selected = record.select()
    if selected is None or not selected.checkpoint or not Path(selected.checkpoint).exists():
        return {}
    model = load_model(selected.checkpoint)
    tags = {"greennlp.run_id": record.run_id, "greennlp.model": selected.name}
    if hasattr(model, "hf_tokenizer") and hasattr(model, "model"):
        from greennlp.models.hf_format import quiet

        card = Path(record.run_dir) / "MODEL_CARD.md"  # the selected model's card
        with quiet():
            info = mlflow.transformers.log_model(
                {"model": model.model, "tokenizer": model.hf_tokenizer}, name=MODEL_NAME,
                task="text-classification", registered_model_name=register, tags=tags,
                # as greennlp reads texts: cut at the model's length (pyfunc's predict
                # passed whole texts, past the length the model was trained on)
                model_config={"truncation": True},
                model_card=_card(card) if card.exists() else None,
                pip_requirements=_requirements("transformers", "torch", "tokenizers",
                                               "safetensors"))
        logged = {"transformers": info.model_uri}
    else:
        info = mlflow.pyfunc.log_model(
            name=MODEL_NAME, python_model=str(Path(__file__).with_name("mlflow_pyfunc.py")),
            artifacts={"model": str(selected.checkpoint)}, registered_model_name=register,
            tags=tags, pip_requirements=_requirements("greennlp", "scikit-learn", "skops"))
        logged = {"pyfunc": info.model_uri}
    variant = onnx_variant(record, selected)
    if variant is not None:
        import onnx

        onnx_info = mlflow.onnx.log_model(
            onnx.load(str(Path(variant.checkpoint) / "model.onnx")), name=ONNX_NAME,
            tags={**tags, "greennlp.model": variant.name},
            pip_requirements=_requirements("onnx", "onnxruntime"))
        logged["onnx"] = onnx_info.model_uri
    return logged
