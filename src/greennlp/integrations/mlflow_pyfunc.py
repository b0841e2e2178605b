"""The model file MLflow logs for a greennlp model of the ``pyfunc`` flavour ("models from
code": the model is this file, not a pickle); its folder is the logged artifact."""

from mlflow.models import set_model

from greennlp.integrations.mlflow_models import GreenNLPModel

set_model(GreenNLPModel())
