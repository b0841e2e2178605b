"""greennlp: an efficiency-first lifecycle toolkit for NLP models.

Every stage (data, training, evaluation, compression, report) runs inside
:func:`greennlp.measure.track` and leaves a :class:`greennlp.record.StageResult`
with what it cost, so the report can put a price tag on each step.

From Python (each imported when first used, so ``import greennlp`` stays light):

- :func:`greennlp.track` measures a block of your own code;
- :func:`greennlp.run_config` runs a configuration and returns its record;
- :func:`greennlp.load_model` / :func:`greennlp.load_record` reopen what a run made;
- :class:`greennlp.integrations.hf.GreenNLPCallback` records a Hugging Face Trainer.
"""

__version__ = "0.1.0"
__all__ = ["__version__", "load_model", "load_record", "run_config", "track"]

_API = ("load_model", "load_record", "run_config", "track")


def __getattr__(name: str):
    if name in _API:
        from greennlp import api

        return getattr(api, name)
    raise AttributeError(f"module 'greennlp' has no attribute {name!r}")
