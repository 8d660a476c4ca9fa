"""The one "did you mean" of every error that names a bad value and its valid choices.

It lives in workers/ because workers/ may import nothing from docpipe/, while docpipe/ (config
validation, stack files, the price book, the command line) may import workers/.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(value: object, choices: Iterable[str]) -> str:
    """`" (did you mean 'x'?)"` for the choice closest to `value`, or `""` when none is close.

    A value that is not text (a number where a name belongs) has no suggestion.
    """
    if not isinstance(value, str):
        return ""
    options = list(choices)
    same = [c for c in options if c.lower() == value.lower()]  # "HIGH" for "high"
    close = same or difflib.get_close_matches(value, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
