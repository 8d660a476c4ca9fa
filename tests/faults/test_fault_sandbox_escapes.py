"""Model-written code tries to leave the `local-sandbox` (bubblewrap): every attempt must fail.

Each case runs hostile enrichment code in a real sandbox, as root and as an unprivileged user
(bwrap under `setpriv --reuid=65534`, with the system Python: this machine's venv interpreter sits
under a 0700 /root that uid 65534 cannot read, as a laptop user's own interpreter would not). The
host then checks what the code could not have hidden: a connection in a listening socket's
backlog, a process still alive, a SysV segment, a file in /tmp, a secret in the result. Where the
same attack would succeed without the sandbox, a control run proves the check can see an escape.
The counts (tried / escaped) go into the fault suite's table.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fault_stack import record
from temporalio.exceptions import ApplicationError

from docpipe.local.state import pid_alive
from docpipe.local.wait import WaitTimeout, wait_until
from workers.enrichment.local_sandbox import LocalSandbox, SandboxLimits, base_python
from workers.enrichment.program import RUNNER

ROOT = Path(__file__).resolve().parents[2]
LIMITS = SandboxLimits(cpu_seconds=5, memory_mb=256, output_bytes=200_000, wall_seconds=20)
SETPRIV = shutil.which("setpriv")
SYSTEM_PYTHON = "/usr/bin/python3"
TALLY: dict[str, dict[str, int]] = {}
BASE_SITE = [
    os.path.join(
        sys.base_prefix, "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}", "site-packages"
    )
]
MARK = f"docpipe-escape-{uuid.uuid4().hex[:8]}"


@dataclass
class Targets:
    """What hostile code goes for, set up on the host readable by anyone (so only the sandbox stops it)."""

    root: Path
    docpipe: Path
    pg_socket: socket.socket
    pg_path: str
    tcp: socket.socket
    tcp_port: int
    victim: subprocess.Popen[bytes]
    secret: str
    shm_key: int
    tmp_file: str
    site_packages: list[str] = field(default_factory=list)

    def pending(self, listener: socket.socket) -> bool:
        """True when someone connected: the kernel completes a connection into the backlog."""
        listener.setblocking(False)
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return False
        conn.close()
        return True


@dataclass(frozen=True)
class User:
    name: str
    runas: tuple[str, ...]
    python: str | None


def _users() -> list[pytest.param]:
    me = "root" if os.geteuid() == 0 else f"uid {os.geteuid()}"
    users = [pytest.param(User(me, (), None), id=me.replace(" ", ""))]
    nobody = User(
        "uid 65534", (SETPRIV or "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"), SYSTEM_PYTHON
    )
    skip = None
    if os.geteuid() != 0 or not SETPRIV:
        skip = "needs root and setpriv to run the sandbox as uid 65534"
    elif not os.access(SYSTEM_PYTHON, os.X_OK):
        skip = f"{SYSTEM_PYTHON} (an interpreter uid 65534 can read) is not installed"
    marks = [pytest.mark.skip(reason=skip)] if skip else []
    users.append(pytest.param(nobody, id="nobody", marks=marks))
    return users


@pytest.fixture(scope="module")
def targets() -> Iterator[Targets]:
    root = Path(tempfile.mkdtemp(prefix="docpipe-escape-targets-"))
    os.chmod(root, 0o755)
    docpipe = root / ".docpipe"
    (docpipe / "postgres").mkdir(parents=True)
    secret = f"sk-fault-{uuid.uuid4().hex}"
    for rel, text in {
        "dev.json": f'{{"database_url": "postgresql://postgres:{secret}@/docpipe"}}',
        "postgres.pass": secret,
        "payloads/doc.json": f'{{"text": "another tenant {secret}"}}',
    }.items():
        (docpipe / rel).parent.mkdir(parents=True, exist_ok=True)
        (docpipe / rel).write_text(text)
    for dirpath, dirs, files in os.walk(root):  # as open as the data dir was before the fix
        for d in dirs:
            os.chmod(os.path.join(dirpath, d), 0o755)
        for f in files:
            os.chmod(os.path.join(dirpath, f), 0o644)
    pg_path = str(docpipe / "postgres" / ".s.PGSQL.5432")
    pg = socket.socket(socket.AF_UNIX)
    pg.bind(pg_path)
    os.chmod(pg_path, 0o777)
    pg.listen(16)
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(16)
    victim_cmd = ["sleep", "600"]
    if os.geteuid() == 0 and SETPRIV:  # a process of uid 65534, so only the sandbox protects it
        victim_cmd = [SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups", *victim_cmd]
    victim = subprocess.Popen(victim_cmd)
    site = sorted({p for p in sys.path if p.endswith("site-packages")})
    t = Targets(
        root, docpipe, pg, pg_path, tcp, tcp.getsockname()[1], victim, secret,
        0x0D0C0000 + (os.getpid() & 0xFFFF), f"/tmp/{MARK}-tmpfile", site,
    )  # fmt: skip
    try:
        yield t
    finally:
        victim.kill()
        victim.wait()
        pg.close()
        tcp.close()
        shutil.rmtree(root, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(t.tmp_file)
        _remove_shm(t.shm_key)


def _shm_keys() -> set[int]:
    lines = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    return {int(line.split()[0]) for line in lines if line.split()}


def _remove_shm(key: int) -> None:
    if key in _shm_keys():
        subprocess.run(["ipcrm", "-M", str(key)], check=False, capture_output=True)


def _marked_processes() -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if MARK.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    out.append(int(entry))
    return out


def _gone_soon(pids_of: Callable[[], list[int]], timeout: float = 10.0) -> list[int]:
    """Pids still alive once they had `timeout` seconds to die (a dead sandbox's are killed at once)."""
    alive = lambda: [p for p in pids_of() if pid_alive(p)]  # noqa: E731
    with contextlib.suppress(WaitTimeout):
        wait_until(lambda: not alive(), timeout, 0.05, what="sandboxed processes to die")
    return alive()


@dataclass(frozen=True)
class Case:
    name: str
    code: Callable[[Targets], str]
    escaped: Callable[[Targets, str], bool]  # (targets, everything the run returned or raised)
    control: bool = False  # the same attempt outside the sandbox is expected to succeed


def _py(lines: str) -> str:
    return lines.strip() + "\n"


CASES = [
    Case(
        "connect to the PostgreSQL unix socket",
        lambda t: _py(f"""
import socket
s = socket.socket(socket.AF_UNIX)
s.connect({t.pg_path!r})
result = 'connected'
"""),
        lambda t, out: t.pending(t.pg_socket) or "connected" in out,
        control=True,
    ),
    Case(
        "read .docpipe/ files (dev.json, password, payloads)",
        lambda t: _py(f"""
import os
found = []
for dirpath, _, files in os.walk({str(t.docpipe)!r}):
    for f in files:
        try:
            found.append(open(os.path.join(dirpath, f)).read())
        except OSError:
            pass
result = found or open({str(t.docpipe / "dev.json")!r}).read()
"""),
        lambda t, out: t.secret in out,
        control=True,
    ),
    Case(
        "read the repository",
        lambda t: _py(f"result = open({str(ROOT / 'pyproject.toml')!r}).read()"),
        lambda t, out: "asyncio_mode" in out,
        control=True,
    ),
    Case(
        "list site-packages",
        lambda t: _py(f"""
import os
result = [n for p in {[*t.site_packages, *BASE_SITE]!r}
          for n in (os.listdir(p) if os.path.isdir(p) else [])]
"""),
        lambda t, out: "psycopg" in out or "temporalio" in out or "pip" in out,
    ),
    Case(
        "import psycopg and temporalio via sys.path",
        lambda t: _py(f"""
import sys
sys.path.extend({t.site_packages!r})
import psycopg, temporalio
result = 'imported'
"""),
        lambda t, out: "imported" in out,
    ),
    Case(
        "read /etc/passwd",
        lambda t: _py("result = open('/etc/passwd').read()"),
        lambda t, out: "root:x:0" in out,
    ),
    Case(
        "ctypes: kill() a process outside by its pid",
        lambda t: _py(f"""
import ctypes, signal
libc = ctypes.CDLL(None, use_errno=True)
rc = libc.kill({t.victim.pid}, signal.SIGKILL)
result = ('rc', rc, ctypes.get_errno())
"""),
        lambda t, out: t.victim.poll() is not None,
    ),
    Case(
        "signal the worker (os.kill with signal 0)",
        lambda t: _py(f"""
import os
os.kill({os.getpid()}, 0)
result = 'reached the worker'
"""),
        lambda t, out: "reached the worker" in out,
    ),
    Case(
        "kill every process it can see",
        lambda t: _py(f"""
import os, signal
killed = []
for pid in [int(p) for p in os.listdir('/proc') if p.isdigit()] + [{t.victim.pid}, {os.getpid()}]:
    if pid not in (os.getpid(), 1):
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except OSError:
            pass
result = killed
"""),
        lambda t, out: t.victim.poll() is not None or not pid_alive(os.getpid()),
    ),
    Case(
        "fork bomb (300 children)",
        lambda t: _py("""
import os, time
n = 0
try:
    for _ in range(300):
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        n += 1
except OSError as err:
    pass
result = n
"""),
        lambda t, out: "300" in out.split("__DOCPIPE_RESULT__")[-1],
    ),
    Case(
        "setsid + double fork, a daemon that outlives the sandbox",
        lambda t: _py(f"""
import os, sys
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(120)  # {MARK}'])
    os._exit(0)
os.wait()
result = 'daemon started'
"""),
        lambda t, out: bool(_gone_soon(_marked_processes)),
    ),
    Case(
        "SysV shared memory that outlives the sandbox",
        lambda t: _py(f"""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
shmid = libc.shmget({t.shm_key}, 64 * 1024 * 1024, 0o1000 | 0o666)
result = ('shmid', shmid, ctypes.get_errno())
"""),
        lambda t, out: t.shm_key in _shm_keys(),
    ),
    Case(
        "a file in /tmp that outlives the sandbox",
        lambda t: _py(f"""
open({t.tmp_file!r}, 'w').write('left behind')
result = 'written'
"""),
        lambda t, out: os.path.exists(t.tmp_file),
        control=True,
    ),
    Case(
        "write next to the interpreter's standard library",
        lambda t: _py(f"""
import os
open(os.path.join(os.path.dirname(os.__file__), '{MARK}.py'), 'w').write('x = 1')
result = 'written'
"""),
        lambda t, out: any(
            os.path.exists(os.path.join(os.path.dirname(p), f"{MARK}.py"))
            for p in (os.__file__, "/usr/lib/python3.11/os.py")
        ),
    ),
    Case(
        "TCP connection to a service on 127.0.0.1",
        lambda t: _py(f"""
import socket
socket.create_connection(('127.0.0.1', {t.tcp_port}), timeout=2)
result = 'connected'
"""),
        lambda t, out: t.pending(t.tcp) or "connected" in out,
        control=True,
    ),
    Case(
        "read the environment (its own and the worker's) for secrets",
        lambda t: _py("""
import os
seen = [dict(os.environ)]
for p in os.listdir('/proc'):
    if p.isdigit() or p == 'self':
        try:
            seen.append(open(f'/proc/{p}/environ', 'rb').read().decode(errors='replace'))
        except OSError:
            pass
result = seen
"""),
        lambda t, out: t.secret in out,
    ),
]


def _tally(user: User, escaped: bool) -> None:
    counts = TALLY.setdefault(user.name, {"tried": 0, "escaped": 0})
    counts["tried"] += 1
    counts["escaped"] += int(escaped)
    record("sandbox", f"escape attempts as {user.name}", **counts)


async def _run(sandbox: LocalSandbox, code: str) -> str:
    try:
        stdout, result = await sandbox.run(code, [])
    except ApplicationError as err:
        return f"error: {err.message}"
    return f"{stdout}\n__DOCPIPE_RESULT__ {result!r}"


def _unsandboxed(user: User, code: str) -> str:
    """The same program in a plain child process of the same user (the control run)."""
    import json

    python = user.python or base_python()
    proc = subprocess.run(
        [*user.runas, python, "-I", "-S", "-c", RUNNER],
        input=json.dumps({"code": code, "elements": []}).encode(),
        capture_output=True,
        timeout=30,
        check=False,
    )
    return proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")


@pytest.fixture
def secret_in_env(targets: Targets, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCPIPE_FAKE_API_KEY", targets.secret)


@pytest.mark.parametrize("user", _users())
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_escape_attempt_fails(case: Case, user: User, targets: Targets, secret_in_env: None) -> None:
    sandbox = LocalSandbox(LIMITS, python=user.python, runas=user.runas)
    code = case.code(targets)
    out = await _run(sandbox, code)
    escaped = case.escaped(targets, out)
    left = _gone_soon(_marked_processes)
    _tally(user, escaped or bool(left))
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert not escaped, f"{case.name}: escaped as {user.name}: {out[-600:]}"
    assert not left, f"{case.name}: processes outlived the sandbox: {left}"
    assert targets.victim.poll() is None, "the victim process was killed"
    if case.control:
        # Without the sandbox the same code gets through: the check above can see an escape.
        control = _unsandboxed(user, code)
        assert case.escaped(targets, control), f"control run did not get through: {control[-600:]}"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(targets.tmp_file)


@pytest.mark.parametrize("user", _users())
async def test_a_sandbox_cannot_kill_its_sibling(user: User, targets: Targets) -> None:
    """Two sandboxes at once: one kills every pid it can find; the other still finishes normally."""
    sandbox = LocalSandbox(LIMITS, python=user.python, runas=user.runas)
    sleeper = asyncio.create_task(_run(sandbox, "import time\ntime.sleep(2)\nresult = 'sibling ok'"))
    sibling_pids = await asyncio.to_thread(
        wait_until, lambda: _descendants(os.getpid()), 20, 0.02, what="the sibling sandbox to start"
    )
    killer_code = _py(f"""
import os, signal
for pid in [int(p) for p in os.listdir('/proc') if p.isdigit()] + {sibling_pids!r}:
    if pid not in (os.getpid(), 1):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
result = 'tried'
""")
    await _run(sandbox, killer_code)
    out = await sleeper
    escaped = "sibling ok" not in out
    _tally(user, escaped)
    assert not escaped, f"the sibling sandbox was disturbed: {out[-400:]}"


def _descendants(pid: int) -> list[int]:
    from fault_stack import descendants

    return list(descendants(pid))


def test_missing_bubblewrap_refuses_with_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """No weaker sandbox silently: without bwrap the backend does not start, and says why."""
    from workers.enrichment import local_sandbox

    local_sandbox.bwrap_binary.cache_clear()
    monkeypatch.setattr(local_sandbox.shutil, "which", lambda name: None)
    try:
        with pytest.raises(local_sandbox.SandboxUnavailable) as info:
            LocalSandbox(LIMITS)
    finally:
        local_sandbox.bwrap_binary.cache_clear()
    message = str(info.value)
    assert "apt install bubblewrap" in message and "backends.enrichment.kind=e2b" in message


def test_a_bwrap_that_cannot_create_namespaces_refuses(tmp_path: Path) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    from workers.enrichment import local_sandbox

    sandbox = object.__new__(LocalSandbox)
    sandbox.limits, sandbox.runas = LIMITS, ("/usr/bin/env",)  # as this user: the fake is in a 0700 dir
    sandbox.interpreter = local_sandbox.interpreter(None)
    sandbox.bwrap = str(fake)
    with pytest.raises(local_sandbox.SandboxUnavailable, match="No permissions to create new namespace"):
        sandbox._check_works()
