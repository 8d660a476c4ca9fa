"""Where local runs keep their data: `.docpipe/` in the project root (or `$DOCPIPE_HOME`).

.docpipe/
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


def resolve_home(project_root: Path | None = None) -> Home:
    """`$DOCPIPE_HOME` if set (tests use a temporary one), else `.docpipe/` in the project root."""
    override = os.environ.get(HOME_ENV)
    if override:
        return Home(Path(override).expanduser().resolve())
    if project_root is None:
        from docpipe.stackfile import project_root as find_root

        try:
            project_root = find_root()
        except FileNotFoundError:
            project_root = Path.cwd()
    return Home(project_root.resolve() / DIRNAME)
