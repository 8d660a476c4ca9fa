"""`python -m docpipe.cli ARGS`: what `docpipe ARGS` runs (how the local stack starts its workers)."""

import sys

from docpipe.cli import main

sys.exit(main())
