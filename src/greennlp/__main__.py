"""``python -m greennlp`` is the same as the ``greennlp`` command."""

from greennlp.cli import main

main()
