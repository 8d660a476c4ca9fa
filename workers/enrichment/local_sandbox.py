"""The `local-sandbox` enrichment backend: model-written code under kernel isolation (bubblewrap).

Each program runs in a fresh `bwrap` sandbox (Linux namespaces, no setuid helper):

- new user, pid, ipc, net, uts, mount and cgroup namespaces (`--unshare-all`), no capabilities,
  no nested user namespaces; the code runs as uid/gid 65534 inside its user namespace;
- a root file system holding only, read-only, the interpreter, its standard library (its
  site-packages masked by an empty tmpfs) and the shared libraries they load (found with `ldd`);
  no repository, no `.docpipe/`, no site-packages, no socket, no /etc;
- a private, empty, size-capped tmpfs at /tmp (the working directory) and a fresh /proc that shows
  only the sandbox's own pid namespace;
- a cleared environment (`--clearenv`: PATH, HOME=/tmp, LANG only);
- RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_NPROC, RLIMIT_NOFILE and no core files, set in the
  sandbox before any model code runs (RLIMIT_NPROC counts per user namespace on Linux >= 5.14, so
  it bounds this sandbox's own processes);
- everything the code starts dies with it: when the program ends, the pid namespace's init exits
  and the kernel kills what is left (daemons, `setsid` + double fork); `--die-with-parent` ends the
  sandbox with its worker; a wall-clock timeout kills the whole sandbox. SysV IPC objects and /tmp
  files go with their namespaces.

Where bubblewrap is missing (macOS) or cannot create namespaces, the backend refuses to start
(`SandboxUnavailable`) with what to install, or to use e2b: never a weaker sandbox silently.
The code never runs inside the worker process.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from workers.enrichment.program import RUNNER, parse_output
from workers.errors import enrichment_failed
from workers.settings import SettingsError
from workers.types import Element

logger = logging.getLogger(__name__)

NOBODY = 65534
SANDBOX_TMP = "/tmp"  # noqa: S108 - the sandbox's own private tmpfs, not the host's /tmp
# Processes (threads count too) one sandbox may have at once, its first python included.
NPROC_LIMIT = 16
OPEN_FILES_LIMIT = 64
TMPFS_BYTES = 64 * 1024 * 1024
FILE_BYTES = 16 * 1024 * 1024

_LIMITS = """
import resource
resource.setrlimit(resource.RLIMIT_CPU, ({cpu}, {cpu} + 1))
resource.setrlimit(resource.RLIMIT_AS, ({mem}, {mem}))
resource.setrlimit(resource.RLIMIT_FSIZE, ({fsize}, {fsize}))
resource.setrlimit(resource.RLIMIT_NPROC, ({nproc}, {nproc}))
resource.setrlimit(resource.RLIMIT_NOFILE, ({nofile}, {nofile}))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
del resource
"""

INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: apt install bubblewrap; Fedora: dnf install bubblewrap), "
    "or run enrichment in hosted sandboxes: backends.enrichment.kind=e2b"
)


class SandboxUnavailable(SettingsError):
    """The local-sandbox backend cannot isolate code on this machine (the message says what to do)."""


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

    Sandboxes now work in their own tmpfs, but workers before bubblewrap left
    `docpipe-sandbox-<pid>-…` directories in the host's /tmp when they were killed; a starting
    worker removes those whose worker is gone.
    """
    removed = 0
    for path in Path(tmp or tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*-*"):
        pid_text = path.name.removeprefix(WORKDIR_PREFIX).split("-", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not _pid_alive(int(pid_text)):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


_PROBE = (
    "import json, sys, sysconfig\n"
    "print(json.dumps({'stdlib': sysconfig.get_path('stdlib'),"
    " 'platstdlib': sysconfig.get_path('platstdlib'),"
    " 'dynload': sysconfig.get_config_var('DESTSHARED') or ''}))"
)


@dataclass(frozen=True)
class Interpreter:
    """What a sandbox needs of one Python installation, all bound read-only at its own path."""

    python: str  # the real binary (not a venv's copy: a venv would bring its site-packages)
    stdlib: tuple[str, ...]  # standard-library directories
    masked: tuple[str, ...]  # site-packages directories inside them, hidden under an empty tmpfs
    libraries: tuple[tuple[str, str], ...]  # (host file, path the loader opens) from ldd
    extra_files: tuple[str, ...] = field(default=())  # e.g. /etc/ld.so.cache


def base_python() -> str:
    """The interpreter behind this one: a venv's python is a copy that would point at its packages."""
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


def _shared_libraries(files: Sequence[str]) -> list[tuple[str, str]]:
    ldd = shutil.which("ldd")
    if not ldd:
        raise SandboxUnavailable(
            "the local-sandbox enrichment backend needs `ldd` (Debian: libc-bin) to find the libraries "
            "the interpreter loads"
        )
    # ldd prints "lib => /path (addr)", "/lib64/ld-linux… (addr)", and "file:" headers for many files.
    out = subprocess.run([ldd, *files], capture_output=True, text=True, timeout=60, check=False).stdout
    found: dict[str, str] = {}
    for raw in out.splitlines():
        line = raw.strip()
        if line.endswith(":") or "not found" in line or "statically linked" in line:
            continue
        path = line.split("=>", 1)[1] if "=>" in line else line
        path = path.split(" (", 1)[0].strip()
        if path.startswith("/") and os.path.exists(path):
            found[path] = os.path.realpath(path)
    return [(real, path) for path, real in sorted(found.items())]


@cache
def interpreter(python: str | None = None) -> Interpreter:
    """Locate `python`'s standard library and shared libraries (asked of the interpreter itself)."""
    exe = os.path.realpath(python or base_python())
    probe = subprocess.run(
        [exe, "-I", "-S", "-c", _PROBE], capture_output=True, text=True, timeout=60, check=False
    )
    if probe.returncode != 0:
        raise SandboxUnavailable(f"cannot inspect the interpreter {exe}: {probe.stderr.strip()[-300:]}")
    info = json.loads(probe.stdout)
    dirs: list[str] = []
    for key in ("stdlib", "platstdlib", "dynload"):
        path = os.path.realpath(info[key]) if info[key] else ""
        if path and os.path.isdir(path) and not any(path == d or path.startswith(d + os.sep) for d in dirs):
            dirs.append(path)
    masked = tuple(
        os.path.join(d, name)
        for d in dirs
        for name in ("site-packages", "dist-packages")
        if os.path.isdir(os.path.join(d, name))
    )
    dynload = os.path.realpath(info["dynload"]) if info["dynload"] else ""
    modules = sorted(str(p) for p in Path(dynload).glob("*.so")) if dynload else []
    libraries = tuple(_shared_libraries([exe, *modules]))
    extra = tuple(p for p in ("/etc/ld.so.cache",) if os.path.isfile(p))
    return Interpreter(exe, tuple(dirs), masked, libraries, extra)


@cache
def bwrap_binary() -> str:
    if not sys.platform.startswith("linux"):
        raise SandboxUnavailable(
            f"the local-sandbox enrichment backend isolates code with Linux namespaces, which "
            f"{sys.platform} does not have: use backends.enrichment.kind=e2b (or run docpipe dev in a "
            f"Linux VM or container with bubblewrap)"
        )
    found = shutil.which("bwrap")
    if not found:
        raise SandboxUnavailable(
            "the local-sandbox enrichment backend needs bubblewrap (bwrap), which is not installed: "
            + INSTALL_HINT
        )
    return found


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: int = 10
    memory_mb: int = 512
    output_bytes: int = 1_000_000
    wall_seconds: float = 30.0


def _world_reachable(path: str) -> bool:
    """Whether uid 65534 could open `path`: every directory above it searchable, itself readable."""
    p = Path(path)
    for parent in p.parents:
        if not parent.stat().st_mode & 0o001:
            return False
    return bool(p.stat().st_mode & 0o004)


MIRROR_ROOT = Path("/var/cache/docpipe/sandbox-python")


def _mirror(interp: Interpreter) -> dict[str, str]:
    """Host path -> a path uid 65534 can reach, for an interpreter it cannot (a root worker's Python
    under a 0700 /root): hard links (copies across file systems) in a root-owned cache directory.

    The links share the originals' inodes and modes, so nothing becomes writable or readable that
    was not; site-packages directories are mirrored empty. Built once per interpreter build.
    """
    sources = [*interp.stdlib, interp.python, *(real for real, _ in interp.libraries)]
    if all(_world_reachable(src) for src in sources):
        return {}
    stamp = f"{interp.python}:{os.stat(interp.python).st_mtime_ns}"
    final = MIRROR_ROOT / hashlib.sha256(stamp.encode()).hexdigest()[:16]
    if not final.is_dir():
        MIRROR_ROOT.mkdir(parents=True, exist_ok=True, mode=0o755)
        staging = Path(tempfile.mkdtemp(dir=MIRROR_ROOT, prefix=".staging-"))
        try:
            for src in sources:
                _link_tree(src, staging, set(interp.masked))
            for dirpath, _, _ in os.walk(staging):
                os.chmod(dirpath, 0o755)  # noqa: S103 - searchable by uid 65534, by design
            try:
                staging.rename(final)
            except OSError:  # another worker built it meanwhile
                shutil.rmtree(staging, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return {src: str(final) + src for src in sources}


def _link_tree(src: str, into: Path, masked: set[str]) -> None:
    def link(path: str) -> None:
        dest = Path(str(into) + path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if os.path.islink(path):
            os.symlink(os.readlink(path), dest)
            return
        try:
            os.link(path, dest)
        except OSError:
            shutil.copy2(path, dest)

    if not os.path.isdir(src):
        link(src)
        return
    for dirpath, dirs, files in os.walk(src):
        Path(str(into) + dirpath).mkdir(parents=True, exist_ok=True)
        if dirpath in masked:
            dirs[:] = []
            continue
        for name in files:
            link(os.path.join(dirpath, name))
        for name in list(dirs):
            if os.path.islink(os.path.join(dirpath, name)):
                link(os.path.join(dirpath, name))
                dirs.remove(name)


@cache
def _binds(interp: Interpreter) -> tuple[tuple[str, str], ...]:
    """(host path, path in the sandbox) of everything bound read-only."""
    mirrored = _mirror(interp) if os.geteuid() == 0 else {}
    binds = [(d, d) for d in interp.stdlib] + list(interp.libraries)
    binds += [(p, p) for p in interp.extra_files] + [(interp.python, interp.python)]
    return tuple((mirrored.get(src, src), dest) for src, dest in binds)


def sandbox_argv(
    limits: SandboxLimits, interp: Interpreter, bwrap: str, runas: Sequence[str] = ()
) -> list[str]:
    """The command one sandboxed program runs under (stdin: the runner's JSON payload)."""
    bootstrap = _LIMITS.format(
        cpu=limits.cpu_seconds,
        mem=limits.memory_mb * 1024 * 1024,
        fsize=FILE_BYTES,
        nproc=NPROC_LIMIT,
        nofile=OPEN_FILES_LIMIT,
    )
    cmd = [
        *runas, bwrap,
        "--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL",
        "--uid", str(NOBODY), "--gid", str(NOBODY),
        "--die-with-parent", "--new-session", "--clearenv",
        "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", SANDBOX_TMP, "--setenv", "LANG", "C.UTF-8",
    ]  # fmt: skip
    for src, dest in _binds(interp):
        cmd += ["--ro-bind", src, dest]
    for d in interp.masked:
        cmd += ["--tmpfs", d]
    cmd += ["--proc", "/proc", "--dev", "/dev"]
    cmd += ["--size", str(TMPFS_BYTES), "--perms", "1777", "--tmpfs", SANDBOX_TMP, "--chdir", SANDBOX_TMP]
    cmd += ["--remount-ro", "/"]
    return [*cmd, interp.python, "-I", "-S", "-c", bootstrap + RUNNER]


# bwrap exits with 128 + the signal when the sandboxed program is killed by one.
_CPU_KILLED = {-signal.SIGXCPU, -signal.SIGKILL, 128 + signal.SIGXCPU, 128 + signal.SIGKILL}


class LocalSandbox:
    """Runs model-written code, one fresh bubblewrap sandbox per program.

    `python` picks another interpreter for the sandbox and `runas` a command prefix for bwrap (the
    unprivileged escape tests use `setpriv --reuid=65534 …`); the worker uses neither.
    """

    def __init__(
        self, limits: SandboxLimits, *, python: str | None = None, runas: Sequence[str] = ()
    ) -> None:
        self.limits = limits
        self.runas = tuple(runas)
        self.interpreter = interpreter(python)
        self.bwrap = bwrap_binary()
        self._check_works()
        if swept := sweep_orphaned_workdirs():
            logger.info("removed %d sandbox directories left by workers that were killed", swept)

    def _command(self) -> list[str]:
        return sandbox_argv(self.limits, self.interpreter, self.bwrap, self.runas)

    def _spawn_options(self) -> dict[str, object]:
        """A root worker starts bwrap as uid 65534 (needs unprivileged user namespaces, as a laptop has).

        The kernel never applies RLIMIT_NPROC to uid 0, and a sandbox mapped to uid 0 outside would
        own root's files if it ever reached one. A `runas` prefix decides the user itself.
        """
        if os.geteuid() == 0 and not self.runas:
            return {"user": NOBODY, "group": NOBODY, "extra_groups": []}
        return {}

    def _check_works(self) -> None:
        """One empty program, so a kernel without user namespaces fails at start, not per document."""
        try:
            proc = subprocess.run(  # type: ignore[call-overload]
                self._command(),
                **self._spawn_options(),
                input=json.dumps({"code": "result = 1", "elements": []}).encode(),
                capture_output=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise SandboxUnavailable(
                f"bubblewrap ({self.bwrap}) did not run: {err}; {INSTALL_HINT}"
            ) from None
        if proc.returncode != 0 or parse_output(proc.stdout.decode(errors="replace"))[1] != 1:
            why = _last_line(proc.stderr.decode(errors="replace")) or f"exit status {proc.returncode}"
            raise SandboxUnavailable(
                f"bubblewrap ({self.bwrap}) cannot create the enrichment sandbox here: {why}. It needs "
                "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu "
                "24.04 an AppArmor profile for bwrap); or use backends.enrichment.kind=e2b"
            )

    async def run(self, code: str, elements: list[Element]) -> tuple[str, object]:
        """(printed text, result) — or a non-retryable EnrichmentFailed naming the limit hit."""
        lim = self.limits
        stdin = json.dumps({"code": code, "elements": elements}).encode()
        proc = await asyncio.create_subprocess_exec(
            *self._command(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            **self._spawn_options(),  # type: ignore[arg-type]
            start_new_session=True,  # its own process group: a timeout kill reaches bwrap's helpers
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
        if code_rc in _CPU_KILLED and "Traceback" not in stderr:
            raise enrichment_failed(f"enrichment code exceeded the CPU-time limit ({lim.cpu_seconds} s)")
        if "MemoryError" in stderr:
            raise enrichment_failed(f"enrichment code exceeded the memory limit ({lim.memory_mb} MiB)")
        if code_rc != 0 and "Network is unreachable" in stderr:
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
