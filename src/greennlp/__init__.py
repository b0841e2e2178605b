"""greennlp: an efficiency-first lifecycle toolkit for NLP models.

Every stage (data, training, evaluation, compression, report) runs inside
:func:`greennlp.measure.track` and leaves a :class:`greennlp.record.StageResult`
with what it cost, so the report can put a price tag on each step.
"""

__version__ = "0.1.0"
