"""`docpipe dev` owns its data dir: one at a time, nothing left after a SIGKILL, closed to others.

One sequence on one data dir (each phase needs the previous one's processes):

1. dev A starts; dev B on the same data dir, started while A starts up, is refused and names A's
   pid (before: B reaped A's services and both died).
2. While A serves: PostgreSQL refuses a connection without the password; the URI in dev.json
   names a passfile and holds no password; the workers' environments hold none of the shell's
   variables; `docpipe status` (text and JSON) and every log show no password.
3. A is SIGKILLed alone (its services outlive it, Valkey included); dev C reaps every recorded
   process (pid + start time), runs, and leaves nothing behind.
4. Every directory under the data dir is 0700 (0710 for the server's group at the top under
   root) and every file 0600.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fault_stack import private_dir, record

from docpipe.local.home import Home
from docpipe.local.state import pid_alive, processes_of, recorded_processes
from docpipe.local.wait import wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dev"))
from dev_procs import ROOT, DevProcess, dev_env, run_dev, wait_gone

pytestmark = [pytest.mark.slow, pytest.mark.services]

SHELL_SECRET = "shell-secret-7f3a9c"  # a variable of the user's shell that no worker needs
SAMPLE = str(ROOT / "samples" / "memo.txt")


@pytest.fixture
def dev_home() -> Iterator[Path]:
    with private_dir("docpipe-faults-dev-") as root:
        yield root / "home"


def _status(home: Path, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "docpipe.cli", "status", *args],
        cwd=ROOT,
        env=dev_env(home),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout


def _open_entries(home: Home) -> list[str]:
    """Paths under the data dir more open than 0700 / 0600 (PostgreSQL's own data dir excluded)."""
    bad = []
    top_ok = {0o700, 0o710} if os.geteuid() == 0 else {0o700}
    for dirpath, dirs, files in os.walk(home.root):
        here = Path(dirpath)
        mode = stat.S_IMODE(here.stat().st_mode)
        if mode not in (top_ok if here == home.root else {0o700}):
            bad.append(f"{here} {oct(mode)}")
        if here == home.postgres_dir:
            dirs[:] = []
            continue
        for name in files:
            st = (here / name).lstat()
            if stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) != 0o600:
                bad.append(f"{here / name} {oct(stat.S_IMODE(st.st_mode))}")
    return bad


def test_one_dev_per_data_dir_closed_to_others_and_reaped_after_sigkill(dev_home: Path) -> None:
    home = Home(dev_home)
    a = DevProcess(home.root, "dev", "--keep-running", SAMPLE, env={"SHELL_SECRET_TOKEN": SHELL_SECRET})
    try:
        # 1. A second dev while the first starts up (the lock is taken before any service starts).
        wait_until(lambda: home.owner_file.exists() or a.proc.poll() is not None, 120, 0.02, what="A's lock")
        b = run_dev(home.root, SAMPLE, timeout=120)
        refused = b.proc.returncode == 2 and f"pid {a.proc.pid}" in b.stderr
        record("dev", "second dev on a running data dir", tried=1, refused=int(refused))
        assert refused, b.transcript()
        assert "already running" in b.stderr and "Traceback" not in b.stderr
        a.wait_for("serving until Ctrl-C", 240)

        # 2. Closed to everything but docpipe.
        state = json.loads(home.state_file.read_text())
        password = home.password_file.read_text().strip().rsplit(":", 1)[1]
        assert len(password) >= 32
        url = state["database_url"]
        assert password not in url and "passfile=" in url
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM documents").fetchone() == (1,)
        no_password = url.split("&passfile=")[0]
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(no_password, connect_timeout=5).close()
        assert "scram-sha-256" in (home.postgres_dir / "pg_hba.conf").read_text()
        workers = {n: r["pid"] for n, r in recorded_processes(home).items() if n.startswith("worker-")}
        assert len(workers) == 5, recorded_processes(home)
        leaked = []
        for name, pid in workers.items():
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            names = {e.split(b"=", 1)[0].decode() for e in environ if e}
            if SHELL_SECRET.encode() in b"".join(environ) or "SHELL_SECRET_TOKEN" in names:
                leaked.append(name)
            assert {"PATH", "HOME", "DOCPIPE_HOME"} <= names, (name, sorted(names))
        shown = _status(home.root) + _status(home.root, "--json")
        logs = "".join(p.read_text(errors="replace") for p in home.log_dir.glob("*.log"))
        secrets_shown = sum(password in text for text in (shown, logs, url, a.stdout + a.stderr))
        record("dev", "shell variable reaching a worker", tried=5, leaked=len(leaked))
        record("dev", "PG password in URI/status/logs/output", tried=4, shown=secrets_shown)
        assert not leaked and not secrets_shown
        assert "1" in shown  # status did read the row

        # 3. SIGKILL of dev alone: its services outlive it until the next dev reaps them.
        recorded = {n: int(r["pid"]) for n, r in recorded_processes(home).items()}
        assert {"temporal", "postgres", "valkey"} <= set(recorded), recorded
        os.kill(a.proc.pid, signal.SIGKILL)
        a.proc.wait(30)
        assert pid_alive(recorded["valkey"]), "Valkey should outlive a SIGKILLed dev until reaped"
        c = run_dev(home.root, SAMPLE, timeout=240)
        assert c.proc.returncode == 0, c.transcript()
        assert "stopped a leftover" in c.stdout
        left = wait_gone(list(recorded.values()))
        record("dev", "SIGKILLed dev: recorded processes", tried=len(recorded), left=len(left))
        assert not left, f"still running after the next dev: {left} of {recorded}"
        assert not wait_gone(processes_of(home)), "processes of this data dir are still running"

        # 4. Files and directories.
        open_entries = _open_entries(home)
        record("dev", "data dir entries more open than 0700/0600", open=len(open_entries))
        assert not open_entries, open_entries
    finally:
        if a.proc.poll() is None:
            a.kill()
        from docpipe.local.state import reap_leftovers

        reap_leftovers(home, timeout=2)  # only what this data dir's devs started (pid + start time)
