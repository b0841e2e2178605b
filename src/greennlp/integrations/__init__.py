"""greennlp inside other tools: a Hugging Face ``Trainer`` callback (:mod:`.hf`) and an
MLflow tracking-store writer (:mod:`.mlflow`). Each imports its tool only when used."""
