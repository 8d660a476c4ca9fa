"""`wait_until`: the one bounded wait of the local stack (services, supervisor, leftovers, workers).

Every wait here is "poll a condition until it holds, give up at a deadline, and let the condition
raise at once when waiting is pointless (the process died)". That is ten lines, so no retry
library: tenacity would still need this wrapper to say what was waited for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    """A bounded wait ran out; the message says what was waited for and for how long."""

    def __init__(self, what: str, timeout: float) -> None:
        self.what = what
        self.timeout = timeout
        super().__init__(f"timed out after {timeout:g} s waiting for {what}")


def wait_until(predicate: Callable[[], T], timeout: float, interval: float = 0.1, *, what: str) -> T:
    """Call `predicate` every `interval` seconds until it returns something true, and return that.

    An exception from `predicate` propagates at once. After `timeout` seconds (the predicate is
    asked once more at the deadline) raise WaitTimeout naming `what`.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(what, timeout)
        time.sleep(min(interval, remaining))
