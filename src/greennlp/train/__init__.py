"""Training: one loop for every torch model (see :func:`greennlp.train.loop.train`)."""
