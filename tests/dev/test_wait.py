"""docpipe.local.wait.wait_until: the bounded wait every local-stack wait uses."""

from __future__ import annotations

import pytest

from docpipe.local.wait import WaitTimeout, wait_until


def test_returns_the_first_true_value() -> None:
    answers = iter([None, 0, "ready"])
    assert wait_until(lambda: next(answers), 5, 0.001, what="the third answer") == "ready"


def test_timeout_says_what_was_waited_for_and_how_long() -> None:
    calls = []
    with pytest.raises(WaitTimeout) as caught:
        wait_until(lambda: calls.append(1), 0.05, 0.01, what="PostgreSQL to accept connections")
    assert str(caught.value) == "timed out after 0.05 s waiting for PostgreSQL to accept connections"
    assert isinstance(caught.value, TimeoutError) and len(calls) >= 2  # asked again at the deadline


def test_an_error_from_the_condition_ends_the_wait_at_once() -> None:
    calls = []

    def died() -> bool:
        calls.append(1)
        raise RuntimeError("worker exited with code 3")

    with pytest.raises(RuntimeError, match="exited with code 3"):
        wait_until(died, 60, 0.01, what="the worker")
    assert calls == [1]
