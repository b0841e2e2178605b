"""Footprint measurement: ``track(stage)``, energy backends, carbon and price tables."""

from greennlp.measure.tracker import Footprint, track

__all__ = ["Footprint", "track"]
