"""The event machinery `docpipe simulate` runs on: a clock, tasks, and the base of a capacity pool.

Each target's own pool (how its capacity starts, serves and stops) lives with the target in
`docpipe.targets.<key>`; this module knows no target.
"""

from __future__ import annotations

import heapq
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workers.contract import Role

if TYPE_CHECKING:
    from docpipe.cost.model import Estimate
    from docpipe.cost.pricebook import PriceBook
    from docpipe.plan import RolePlacement


class Clock:
    """The event queue: callbacks at times, run in time order (ties in scheduling order)."""

    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = 0

    def at(self, when: float, fn: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self._heap, (when, self._seq, fn, args))
        self._seq += 1

    def run(self, until: float | None = None) -> None:
        """Run the events in time order; with `until`, stop there (later events never happen)."""
        while self._heap:
            if until is not None and self._heap[0][0] > until:
                break
            when, _, fn, args = heapq.heappop(self._heap)
            self.now = when
            fn(*args)
        if until is not None:
            self.now = max(self.now, until)


@dataclass
class Doc:
    arrived: float
    stages: list[Role]
    step: int = 0
    done: float | None = None


@dataclass
class Task:
    doc: Doc
    role: Role
    duration: float
    submitted: float
    started: float | None = None
    attempts: int = 0
    attempt_started: float = 0.0


@dataclass
class RoleStats:
    waits: list[float] = field(default_factory=list)
    backlog_peak: int = 0
    tasks: int = 0
    completed: int = 0
    retries: int = 0
    busy_seconds: float = 0.0


class Pool(ABC):
    """A role's capacity model. `submit` hands it a task; it calls `on_done(task)` when finished."""

    def __init__(self, clock: Clock, placement: RolePlacement, on_done: Callable[[Task], None]) -> None:
        self.clock = clock
        self.placement = placement
        self.on_done = on_done
        self.queue: deque[Task] = deque()
        self.stats = RoleStats()
        self.in_flight: dict[int, Task] = {}

    def submit(self, task: Task) -> None:
        self.queue.append(task)
        self.dispatch()
        self.stats.backlog_peak = max(self.stats.backlog_peak, len(self.queue))

    @abstractmethod
    def dispatch(self) -> None:
        """Start queued tasks on free capacity, and more capacity where the target allows."""

    @abstractmethod
    def cost(self, elapsed: float, prices: PriceBook, closed: Estimate) -> tuple[float, dict[str, float]]:
        """USD of the simulated `elapsed` seconds and the figures behind it (both per simulated period).

        The figures include `instanceSeconds` (what is billed: instance-, invocation- or
        machine-seconds) and `capacitySeconds` (the most the placement can run in `elapsed`: its
        instance or concurrency limit × `elapsed`); the first never exceeds the second."""

    def close(self, now: float) -> None:
        """End the simulated period at `now`: tasks still running count for the time they ran."""
        for task in self.in_flight.values():
            self.stats.busy_seconds += max(0.0, now - task.attempt_started)
        self.in_flight.clear()

    def oldest_queued_seconds(self, now: float) -> float:
        return max((now - t.submitted for t in self.queue), default=0.0)

    def _started(self, task: Task) -> None:
        now = self.clock.now
        if task.started is None:
            task.started = now
            self.stats.waits.append(now - task.submitted)
        task.attempts += 1
        task.attempt_started = now
        self.in_flight[id(task)] = task

    def _completed(self, task: Task) -> None:
        """A task finished: its run time counts as busy time."""
        self.in_flight.pop(id(task), None)
        self.stats.busy_seconds += task.duration
        self.stats.completed += 1
