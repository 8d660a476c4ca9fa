"""The offline harness runs the program with the cyclic GC paused (workers.process.paused_gc),
then leaves the collector as it found it, with the imported SDKs frozen out of its sight."""

from __future__ import annotations

import gc

from docpipe.stackfile import load_stack
from infra.offline import run_offline


def test_run_offline_restores_the_collector_and_freezes_the_sdks() -> None:
    assert gc.isenabled()
    _, flat = load_stack("dev", placeholder_secrets=True)
    result = run_offline(flat, "dev")
    assert result.resources
    assert gc.isenabled()  # the pause ended with the run
    assert gc.get_freeze_count() > 0  # the provider SDKs' objects: frozen after the first run

    gc.disable()
    try:
        run_offline(flat, "dev")
        assert not gc.isenabled()  # a caller's own pause (docpipe plan's) is kept
    finally:
        gc.enable()
