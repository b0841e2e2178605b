"""The ``audit`` section: near-duplicates, exact-substring overlap and training dynamics."""

from __future__ import annotations

from dataclasses import dataclass

from greennlp.config.rules import rule
from greennlp.errors import UserError


@dataclass(frozen=True)
class AuditConfig:
    """The data audit (``greennlp audit``, and the ``audit`` stage of ``greennlp run``)."""

    enabled: bool = rule(True, doc="run the audit stage in greennlp run")
    threshold: float = rule(0.8,
                            doc="Jaccard similarity of word n-gram sets, in (0, 1], above "
                                "which two documents are near-duplicates")
    ngram: int = rule(5, low=1, high=50, doc="words per n-gram (Lee et al. 2022 use 5)")
    num_perm: int = rule(128, low=16, high=1024, doc="MinHash hash functions")
    recall_sample: int = rule(20_000, low=100, doc="documents whose pairs are checked by brute "
                                                   "force to measure the recall of LSH")
    substring_tokens: int = rule(50, low=5, doc="exact shared span length (LM corpora)")
    examples: int = rule(5, low=0, high=50, doc="examples of each finding in the reports")
    dynamics: bool = rule(True, doc="MAP-D probes and cartography of the cheapest neural model")
    dynamics_model: str = rule("transformer", doc="the classification family trained with probes")
    dynamics_epochs: int = rule(4, low=2, high=50, doc="epochs of the probe training")
    dynamics_width: int | None = rule(64, low=8, doc="hidden size of the probe-training "
                                      "encoder (1 layer, 2 heads); null = the family's own "
                                      "settings (slower: ~4x the audit's time budget)")
    dynamics_lr: float | None = rule(None, low=1e-6, high=1.0,
                                     doc="learning rate of the probe training; null = 3e-3 "
                                         "for the small encoder of dynamics_width, else the "
                                         "family's own (e.g. 5e-5 for minilm)")
    dynamics_batch_size: int = rule(64, low=1, doc="batch size of the probe training")
    probe_size: int = rule(100, low=5, doc="examples per MAP-D probe suite")
    knn: int = rule(20, low=1, doc="neighbours in the MAP-D vote over loss trajectories")

    def check(self, prefix: str) -> None:
        """Cross-field rules (called when the section is built)."""
        if not 0 < self.threshold <= 1:
            raise UserError(f"Config key '{prefix}threshold' is {self.threshold}; a Jaccard "
                            f"threshold must be in (0, 1], e.g. 0.8.")
