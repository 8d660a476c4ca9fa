"""How a `docpipe` process leaves (one exit path for every command), and its cyclic-GC pauses.

Leaving: docpipe/cli/__init__.py `entry` calls `leave`.

A short command has done its work once its handler returns; interpreter teardown after that costs
0.9-1.4 s for a process that imported the Pulumi provider SDKs (`docpipe plan`), and a process
that ran a Temporal worker or client can abort in finalisation (exit 134 instead of its real code,
shared ENVIRONMENT-FACTS). So the console script flushes what the process wrote and leaves with
`os._exit`. Only the entry points call this; handlers return their code, so tests can call them
(and `docpipe.cli.main`) in-process. It lives in workers/ because workers/ may not import docpipe/.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn


def leave(code: int) -> NoReturn:
    """Flush logging, stdout and stderr, then end the process with `code`, skipping teardown.

    Nothing registered with `atexit` runs and non-daemon threads are not joined: callers stop
    their own children and threads before returning a code (docpipe dev, the worker's drain).
    """
    try:
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        pass  # a closed pipe (`docpipe plan | head`): nothing more can be written anyway
    os._exit(code)


def exit_code(err: SystemExit) -> int:
    """The process exit code Python gives a `SystemExit` (printing a message argument first)."""
    if err.code is None:
        return 0
    if isinstance(err.code, int):
        return err.code
    print(err.code, file=sys.stderr)
    return 1


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector off for a bounded burst of allocation, then as it was.

    The Pulumi program under mocks allocates ~300k long-lived objects on top of the provider SDKs;
    each full collection walks all of them, and they were 0.5 s of the 0.8 s the run took. Nothing
    in the run needs cycles freed early (a plan holds ~2 MB more with the GC off). Reference
    counting still frees everything else.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
