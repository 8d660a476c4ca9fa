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
"""

from __future__ import annotations

import os
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

    def worker_log(self, role: str) -> Path:
        return self.log_dir / f"worker-{role}.log"

    def create(self) -> Home:
        for d in (self.root, self.temporal_dir, self.valkey_dir, self.payload_dir, self.log_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self

    def display(self) -> str:
        """The path as a user would type it: relative to the working directory when inside it."""
        try:
            return str(self.root.relative_to(Path.cwd())) + os.sep
        except ValueError:
            return str(self.root) + os.sep


DEFAULT_STACK = "dev"
# What a data dir holds (the layout above); a `.docpipe/` holding these itself predates per-stack dirs.
_ENTRIES = ("temporal", "postgres", "valkey", "payloads", "logs", "temporal.toml")


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
