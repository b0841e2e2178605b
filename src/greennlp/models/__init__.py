"""Models: builders (functions, not class trees), the one loader, and parameter / FLOP
accounting. :mod:`greennlp.models.families` is the table of model families that every
other package asks; :func:`load_model` reopens any folder a model was saved to.
"""

from greennlp.models.families import FAMILIES, Family, family, names, register
from greennlp.models.loading import load_model

__all__ = ["FAMILIES", "Family", "family", "load_model", "names", "register"]
