"""Fixtures for the `docpipe dev` tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def dev_home() -> Iterator[Path]:
    """A data dir for one test, outside pytest's temp root.

    pytest keeps `/tmp/pytest-of-<user>` at mode 0700 and re-applies that whenever a pytest session
    starts. The embedded PostgreSQL runs as its own system user when tests run as root: a second
    pytest session on the machine would cut a running server off its data dir (PANIC at the next
    checkpoint). A plain temporary directory does not move under it.
    """
    root = Path(tempfile.mkdtemp(prefix="docpipe-test-dev-"))
    try:
        yield root / "home"
    finally:
        shutil.rmtree(root, ignore_errors=True)
