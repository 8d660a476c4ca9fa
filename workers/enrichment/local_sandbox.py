"""The `local-sandbox` enrichment backend: model-written code in a limited child process.

Limits per run: CPU time and address space (setrlimit in the child before any model code runs),
captured output size, wall-clock time (the whole process group is killed; on Linux the child also
dies with its worker, so a killed worker leaves no sandbox behind), an empty temporary working
directory, a minimal environment, Python in isolated mode without site-packages, and no network: the
child gets its own empty network namespace (`unshare -n` when the worker is root, `unshare -rn`
otherwise) where the kernel allows it; where it does not, the runner blocks `socket` in-process and
the worker says so once. A root worker also drops the child to `nobody` before the code runs, so the
code cannot touch the worker's files. The code never runs inside the worker process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from workers.enrichment.program import RUNNER, parse_output
from workers.errors import enrichment_failed
from workers.types import Element

logger = logging.getLogger(__name__)

_LIMITS = """
import resource
resource.setrlimit(resource.RLIMIT_CPU, ({cpu}, {cpu} + 1))
resource.setrlimit(resource.RLIMIT_AS, ({mem}, {mem}))
resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
"""
# Dropping root: modules are imported first, since the interpreter's own files may sit where `nobody`
# cannot read them (a home-directory Python); container images keep the stdlib world-readable.
_DROP_ROOT = """
import collections, csv, datetime, decimal, functools, io, itertools, json, math, re, statistics, string
import ctypes, encodings.idna, resource, signal, socket
import os
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
"""
NOBODY = 65534
# The child dies with the worker that started it (Linux): a SIGKILLed or OOM-killed worker cannot
# enforce the wall-clock limit any more, and sleeping code never hits the CPU limit. Set after the
# privilege drop (a credential change clears it); if the worker is already gone, exit at once.
_DIE_WITH_WORKER = """
import ctypes, os, signal
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
if os.getppid() != {worker}:
    os._exit(137)
"""
_SOCKET_BLOCK = """
import socket
def _no_network(*args, **kwargs):
    raise OSError("network access is disabled in the enrichment sandbox")
socket.socket = _no_network
socket.create_connection = _no_network
"""


def _works(cmd: list[str]) -> bool:
    try:
        return subprocess.run([*cmd, "true"], capture_output=True, timeout=5, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@cache
def _isolation() -> tuple[tuple[str, ...], str]:
    """(command prefix, kind): kind 'netns' (own empty network namespace) or 'socket-block'."""
    unshare = shutil.which("unshare")
    if unshare and sys.platform.startswith("linux"):
        # Real root keeps its uid outside a user namespace, so it can drop to nobody afterwards.
        prefix = (unshare, "-n") if os.geteuid() == 0 else (unshare, "-rn")
        if _works(list(prefix)):
            return prefix, "netns"
    logger.warning("no network namespace available: the enrichment sandbox falls back to blocking sockets")
    return (), "socket-block"


def network_isolation() -> str:
    """'netns' when the child gets an empty network namespace here, else 'socket-block'."""
    return _isolation()[1]


def drops_root() -> bool:
    return os.geteuid() == 0


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: int = 10
    memory_mb: int = 512
    output_bytes: int = 1_000_000
    wall_seconds: float = 30.0


WORKDIR_PREFIX = "docpipe-sandbox-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_orphaned_workdirs(tmp: str | None = None) -> int:
    """Remove sandbox directories left by workers that no longer run; how many were removed.

    A killed worker cannot remove its sandbox's temporary directory (the sandbox dies with it). Each
    directory carries the worker's pid (`docpipe-sandbox-<pid>-…`), so a starting worker removes
    those whose worker is gone; a reused pid only means a directory waits for a later sweep.
    """
    removed = 0
    for path in Path(tmp or tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*-*"):
        pid_text = path.name.removeprefix(WORKDIR_PREFIX).split("-", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not _pid_alive(int(pid_text)):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


class LocalSandbox:
    def __init__(self, limits: SandboxLimits) -> None:
        self.limits = limits
        if swept := sweep_orphaned_workdirs():
            logger.info("removed %d sandbox directories left by workers that were killed", swept)

    def _command(self) -> list[str]:
        lim = self.limits
        prefix, kind = _isolation()
        bootstrap = _DROP_ROOT if drops_root() else ""
        if sys.platform.startswith("linux"):
            bootstrap += _DIE_WITH_WORKER.format(worker=os.getpid())
        bootstrap += _LIMITS.format(cpu=lim.cpu_seconds, mem=lim.memory_mb * 1024 * 1024)
        if kind != "netns":
            bootstrap += _SOCKET_BLOCK
        return [*prefix, sys.executable, "-I", "-S", "-c", bootstrap + RUNNER]

    async def run(self, code: str, elements: list[Element]) -> tuple[str, object]:
        """(printed text, result) — or a non-retryable EnrichmentFailed naming the limit hit."""
        lim = self.limits
        stdin = json.dumps({"code": code, "elements": elements}).encode()
        with tempfile.TemporaryDirectory(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-") as workdir:
            if drops_root():
                os.chown(workdir, NOBODY, NOBODY)
            proc = await asyncio.create_subprocess_exec(
                *self._command(),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=workdir,
                env={"PATH": "/usr/bin:/bin", "HOME": workdir, "LANG": "C.UTF-8"},
                start_new_session=True,  # its own process group, so a kill reaches any children
            )
            try:
                out, err, over = await asyncio.wait_for(self._communicate(proc, stdin), lim.wall_seconds)
            except TimeoutError:
                _kill(proc)
                await proc.wait()
                raise enrichment_failed(
                    f"enrichment code exceeded the wall-clock limit ({lim.wall_seconds:g} s)"
                ) from None
            except asyncio.CancelledError:
                _kill(proc)
                raise
        if over:
            raise enrichment_failed(
                f"enrichment code printed more than the {lim.output_bytes} byte output limit"
            )
        code_rc = proc.returncode
        stderr = err.decode(errors="replace")
        if code_rc in (-signal.SIGXCPU, -signal.SIGKILL) and "Traceback" not in stderr:
            raise enrichment_failed(f"enrichment code exceeded the CPU-time limit ({lim.cpu_seconds} s)")
        if "MemoryError" in stderr:
            raise enrichment_failed(f"enrichment code exceeded the memory limit ({lim.memory_mb} MiB)")
        if code_rc != 0 and ("Network is unreachable" in stderr or "network access is disabled" in stderr):
            raise enrichment_failed(
                f"enrichment code tried to use the network, which the sandbox disables: {_last_line(stderr)}"
            )
        if code_rc != 0:
            raise enrichment_failed(
                f"enrichment code failed: {_last_line(stderr) or f'exit status {code_rc}'}"
            )
        return parse_output(out.decode(errors="replace"))

    async def _communicate(self, proc: asyncio.subprocess.Process, stdin: bytes) -> tuple[bytes, bytes, bool]:
        assert proc.stdin and proc.stdout and proc.stderr
        cap = self.limits.output_bytes

        async def feed() -> None:
            try:
                proc.stdin.write(stdin)  # type: ignore[union-attr]
                await proc.stdin.drain()  # type: ignore[union-attr]
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                proc.stdin.close()  # type: ignore[union-attr]

        async def read(stream: asyncio.StreamReader) -> tuple[bytes, bool]:
            buf = bytearray()
            while chunk := await stream.read(65536):
                buf += chunk
                if len(buf) > cap:
                    _kill(proc)
                    return bytes(buf[:cap]), True
            return bytes(buf), False

        _, (out, over_out), (err, over_err) = await asyncio.gather(
            feed(), read(proc.stdout), read(proc.stderr)
        )
        await proc.wait()
        return out, err, over_out or over_err


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""
