"""The clean-test audit of an LM run (stage ``audit:clean_test``): every model's score on
the test documents without a near-duplicate in train, from the per-document test NLL its
evaluation saved."""

from __future__ import annotations

import numpy as np

from greennlp.models import family
from greennlp.record import StageResult
from greennlp.run import Run
from greennlp.tasks.lm_context import LmContext


def stage_clean_test(run: Run) -> None:
    """Perplexity (bits per character) of every LM on the clean test documents (those
    without a near-duplicate in train), from the per-document test NLL each evaluation
    saved (no new pass over test)."""
    from greennlp.data.audit import clean_test_mask
    from greennlp.evaluate.lm_eval import subsample_index
    from greennlp.evaluate.perplexity import document_chars, lm_scores

    audit = run.record.data.get("audit")
    if not audit or LmContext(run).follower:
        return

    def work(st: StageResult) -> None:
        test, lcfg, ecfg = run.splits.texts("test"), run.cfg.lm, run.cfg.evaluate
        seed = run.cfg.seed
        clean = clean_test_mask(audit, len(test))
        scored = subsample_index(len(test), lcfg.test_documents, seed) if lcfg.test_documents \
            else np.arange(len(test))
        out = {}
        for m in run.record.models:
            path = run.run_dir / "models" / m.name / "test_nll.npy"
            if not path.exists():
                continue
            nll, fam = np.load(path), family(m.family)
            idx = scored
            if fam.as_is:  # scored on a subsample of the scored documents
                idx = scored[subsample_index(len(scored), lcfg.smollm2_documents, seed)]
            if nll.shape[1] != len(idx) or not clean[idx].any():
                continue
            keep = clean[idx]
            chars = None if fam.masked else document_chars([test[i] for i in idx[keep]])
            scores = lm_scores(nll[0][keep], nll[1][keep], chars,
                               n_samples=ecfg.bootstrap_samples, confidence=ecfg.confidence,
                               seed=seed)
            out[m.name] = {("masked_" if fam.masked else "") + k: v for k, v in scores.items()}
        audit["clean_test"] = {"examples": int(clean.sum()), "removed": int((~clean).sum()),
                               "models": out}
        st.metrics = {"clean_test_documents": int(clean.sum()), "removed": int((~clean).sum())}
    run.stage("audit:clean_test", work)
