"""What several views share: warnings about `--set`, and the words for the original cost analysis."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from docpipe.cli.table import wrap
from docpipe.config import StackConfig

# "original-hybrid" (a model name in `cost compare`) is the placement the original cost analysis
# recommended; README.md says once what that analysis is.
ORIGINAL_ANALYSIS = (
    "the placement the original cost analysis recommended (extraction and analysis on containers, "
    "the rest on Lambda)"
)


def warn_unused_sets(config: StackConfig, sets: Sequence[str]) -> list[str]:
    """Print (to stderr) a warning for every `--set` the stack accepts but its placement ignores."""
    from docpipe.stackfile import unused_overrides

    found = unused_overrides(config, sets)
    for warning in found:
        print("\n".join(wrap(f"warning: {warning}")), file=sys.stderr)
    return found
