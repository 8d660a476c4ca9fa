"""`python -m docpipe.cli ARGS`: what `docpipe ARGS` runs (how the local stack starts its workers)."""

from docpipe.cli import entry

entry()
