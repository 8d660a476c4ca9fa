"""A small process supervisor: each child in its own process group, logged to a file, restarted
when it dies unexpectedly, stopped (SIGTERM, then SIGKILL) as a group.

Why process groups: a worker may have children (the enrichment sandbox); signalling the group reaches
them too, and a terminal's Ctrl-C reaches only `docpipe dev`, which then stops everything in order
(workers drain before the services they use go away).

Fault suites use the same object: `kill("worker-analysis")` SIGKILLs one worker's group and the
monitor brings it back, as an auto-scaling group or Cloud Run would; `stop()` / `start()` are explicit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from docpipe.local.wait import WaitTimeout, wait_until


class SupervisorError(RuntimeError):
    """A child did not become ready, or kept dying (the message carries the end of its log)."""


@dataclass
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    ready_text: str | None = None  # a log line containing this marks the process ready
    cwd: Path | None = None
    restart: bool = True  # restart after an unexpected exit


@dataclass
class ManagedProcess:
    spec: ProcessSpec
    proc: subprocess.Popen[bytes] | None = None
    ready: bool = False
    started_at: float = 0.0
    starts: int = 0
    restarts: list[float] = field(default_factory=list)  # monotonic times of automatic restarts
    exit_codes: list[int] = field(default_factory=list)
    gave_up: str | None = None  # why the supervisor stopped restarting it
    _log_offset: int = 0
    _scan_offset: int = 0
    _wanted: bool = False  # False once stop() was asked: an exit is then expected

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, lines: int = 20) -> str:
        """The last lines this process wrote (since its latest start)."""
        try:
            with self.spec.log_path.open("rb") as f:
                f.seek(self._log_offset)
                text = f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _scan_ready(self) -> bool:
        if self.ready or self.spec.ready_text is None:
            self.ready = self.ready or (self.spec.ready_text is None and self.alive())
            return self.ready
        try:
            with self.spec.log_path.open("rb") as f:
                f.seek(self._scan_offset)
                chunk = f.read()
        except FileNotFoundError:
            return False
        # Keep a partial last line for the next scan.
        end = chunk.rfind(b"\n") + 1
        self._scan_offset += end
        if self.spec.ready_text.encode() in chunk[:end]:
            self.ready = True
        return self.ready


def signal_group(pid: int, sig: int) -> bool:
    """Signal the process group led by `pid`; False when nothing is left in it."""
    try:
        os.killpg(pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


class Supervisor:
    def __init__(
        self,
        *,
        max_restarts: int = 5,
        restart_window: float = 60.0,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.max_restarts = max_restarts
        self.restart_window = restart_window
        self.on_event = on_event or (lambda _msg: None)
        self._procs: dict[str, ManagedProcess] = {}
        self._lock = threading.RLock()
        self._monitor: threading.Thread | None = None
        self._monitor_stop = threading.Event()

    # --- registry -------------------------------------------------------------------------------
    def add(self, spec: ProcessSpec) -> ManagedProcess:
        with self._lock:
            if spec.name in self._procs:
                raise ValueError(f"{spec.name} is already supervised")
            mp = ManagedProcess(spec)
            self._procs[spec.name] = mp
            return mp

    def __getitem__(self, name: str) -> ManagedProcess:
        return self._procs[name]

    def names(self) -> list[str]:
        return list(self._procs)

    def pids(self) -> dict[str, int]:
        with self._lock:
            return {n: mp.pid for n, mp in self._procs.items() if mp.pid is not None and mp.alive()}

    def is_ready(self, name: str) -> bool:
        with self._lock:
            mp = self._procs[name]
            return mp.alive() and mp._scan_ready()

    def failures(self) -> dict[str, str]:
        with self._lock:
            return {n: mp.gave_up for n, mp in self._procs.items() if mp.gave_up}

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self, name: str) -> ManagedProcess:
        with self._lock:
            mp = self._procs[name]
            if mp.alive():
                return mp
            spec = mp.spec
            spec.log_path.parent.mkdir(parents=True, exist_ok=True)
            with spec.log_path.open("ab") as log:
                offset = log.tell()
                mp.proc = subprocess.Popen(
                    spec.argv,
                    env=spec.env,
                    cwd=spec.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # own process group: signalled as one, spared the tty's ^C
                    umask=0o077,  # what a worker writes (payloads, logs) is this user's only
                )
            mp._log_offset = mp._scan_offset = offset
            mp.ready, mp._wanted, mp.gave_up = False, True, None
            mp.started_at = time.monotonic()
            mp.starts += 1
            return mp

    def wait_ready(self, names: Iterable[str], timeout: float = 60.0) -> None:
        """Until every named process logged its ready line; raises with the log of one that died."""
        pending = set(names)

        def all_ready() -> bool:
            with self._lock:
                for name in list(pending):
                    mp = self._procs[name]
                    if mp._scan_ready():
                        pending.discard(name)
                    elif not mp.alive():
                        code = mp.proc.returncode if mp.proc is not None else None
                        raise SupervisorError(
                            f"{name} exited with code {code} before it was ready "
                            f"(log: {mp.spec.log_path}):\n{mp.tail()}"
                        )
            return not pending

        try:
            wait_until(all_ready, timeout, 0.05, what=f"{', '.join(sorted(pending))} to log ready")
        except WaitTimeout as err:
            late = self._procs[sorted(pending)[0]]
            log = late.spec.log_path
            raise SupervisorError(f"{err}; {late.name} is not (log: {log}):\n{late.tail()}") from None

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int | None:
        """Send `sig` to the process's group without marking it stopped: the monitor restarts it.

        With SIGKILL this returns once the process is gone, so "ready" afterwards means the new one.
        """
        with self._lock:
            mp = self._procs[name]
            pid, proc = mp.pid, mp.proc
            if pid is not None and mp.alive():
                signal_group(pid, sig)
        if sig == signal.SIGKILL and proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
        return pid

    def stop(self, name: str, grace: float = 10.0) -> None:
        self.stop_many([name], grace)

    def stop_many(self, names: Iterable[str], grace: float = 10.0) -> None:
        """SIGTERM each group, wait up to `grace` seconds for all of them, then SIGKILL what is left."""
        with self._lock:
            targets = [self._procs[n] for n in names]
            for mp in targets:
                mp._wanted = False
                if mp.alive() and mp.pid is not None:
                    signal_group(mp.pid, signal.SIGTERM)
        with contextlib.suppress(WaitTimeout):  # what is still running after `grace` is killed below
            wait_until(
                lambda: all(mp.proc is None or mp.proc.poll() is not None for mp in targets),
                grace,
                0.05,
                what=f"{', '.join(mp.name for mp in targets)} to stop",
            )
        for mp in targets:
            if mp.proc is None:
                continue
            if mp.proc.poll() is None:
                self.on_event(f"{mp.name} did not stop within {grace:g} s; killing it")
            # Also reaches grandchildren left in the group after the leader exited.
            signal_group(mp.proc.pid, signal.SIGKILL)
            mp.proc.wait()
            mp.exit_codes.append(mp.proc.returncode)

    def stop_all(self, grace: float = 10.0) -> None:
        self.stop_monitor()
        self.stop_many(list(self._procs), grace)

    # --- monitoring -----------------------------------------------------------------------------
    def check(self) -> None:
        """Restart processes that exited without being asked to (with backoff and a limit)."""
        now = time.monotonic()
        with self._lock:
            for mp in self._procs.values():
                if not mp._wanted or mp.proc is None or mp.alive() or mp.gave_up:
                    continue
                code = mp.proc.returncode
                signal_group(mp.proc.pid, signal.SIGKILL)  # leftovers of the dead group
                recent = [t for t in mp.restarts if now - t < self.restart_window]
                if not mp.spec.restart or len(recent) >= self.max_restarts:
                    mp._wanted = False
                    mp.gave_up = (
                        f"exited with code {code}"
                        + (f" after {len(recent)} restarts in {self.restart_window:g} s" if recent else "")
                        + f" (log: {mp.spec.log_path})"
                    )
                    mp.exit_codes.append(code)
                    self.on_event(f"{mp.name} {mp.gave_up}")
                    continue
                backoff = min(0.5 * 2 ** len(recent), 5.0)
                if recent and now - recent[-1] < backoff:
                    continue  # wait a little before the next attempt
                mp.exit_codes.append(code)
                mp.restarts.append(now)
                self.on_event(f"{mp.name} exited with code {code}; restarting")
                self.start(mp.name)

    def start_monitor(self, interval: float = 0.2) -> None:
        if self._monitor is not None:
            return
        self._monitor_stop.clear()

        def loop() -> None:
            while not self._monitor_stop.wait(interval):
                try:
                    self.check()
                except Exception as err:  # a monitor that dies silently would hide every later crash
                    self.on_event(f"supervisor check failed: {err}")

        self._monitor = threading.Thread(target=loop, name="docpipe-supervisor", daemon=True)
        self._monitor.start()

    def stop_monitor(self) -> None:
        thread, self._monitor = self._monitor, None
        if thread is not None:
            self._monitor_stop.set()
            thread.join()
