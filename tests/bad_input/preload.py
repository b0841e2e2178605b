"""What the attempts' server process imports once (tests/bad_input/attempts.py): greennlp
and the libraries a tiny classification or LM run uses. Importing starts no threads, so
forking afterwards is safe."""

import importlib
import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

for name in ("torch", "sklearn.linear_model", "sklearn.feature_extraction.text",
             "matplotlib.pyplot", "jinja2", "greennlp.cli", "greennlp.tasks",
             "greennlp.tasks.classification_stages", "greennlp.tasks.lm",
             "greennlp.tasks.lm_stages",
             "greennlp.search.stages", "greennlp.search.seeds", "greennlp.tasks.analysis_stages",
             "greennlp.tasks.audit_stages", "greennlp.report.plots", "greennlp.report.html",
             "greennlp.report.lm_plots", "greennlp.report.lm_html", "greennlp.models.tfidf",
             "greennlp.models.ngram", "greennlp.models.loading"):
    try:
        importlib.import_module(name)
    except ImportError:  # a module renamed: the attempts import it themselves, slower
        pass
