"""Heartbeat in the background while an activity awaits something long (an API call, a sandbox)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio import activity

from workers.contract import HEARTBEAT_EVERY_SECONDS


@asynccontextmanager
async def heartbeating(every_seconds: float = HEARTBEAT_EVERY_SECONDS) -> AsyncIterator[None]:
    async def beat() -> None:
        # Not at once: the activity's start already tells Temporal it is alive, and most finish
        # before the first beat is due.
        while True:
            await asyncio.sleep(every_seconds)
            activity.heartbeat()

    task = asyncio.create_task(beat()) if activity.in_activity() else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
