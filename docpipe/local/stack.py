"""LocalStack: the embedded services plus one supervised worker process per role, as one object.

    with LocalStack(home, plan) as stack:        # services, then workers (each ready), state file
        client = await stack.client()
        stack.kill_worker("analysis")            # SIGKILL its process group; the supervisor restarts it
        stack.restart_service("temporal")        # same port, same database file

`docpipe dev` (docpipe/cli/dev.py) is a thin display around this; the fault suites drive the same methods.
Stop order matters: workers drain first (their in-flight activities finish or are handed back to
Temporal), then Valkey, Temporal and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

from docpipe.local.home import HOME_ENV, Home
from docpipe.local.realize import LOCAL_GRACE_SECONDS, Endpoints, LocalRole, realize
from docpipe.local.services import (
    FAST_SQLITE_PRAGMAS,
    Postgres,
    TemporalDevServer,
    Valkey,
    write_private,
)
from docpipe.local.state import (
    DevLock,
    DevState,
    clear_processes,
    clear_state,
    prune_pg_handles,
    reap_leftovers,
    record_process,
    write_state,
)
from docpipe.local.supervisor import ProcessSpec, Supervisor, SupervisorError
from docpipe.local.wait import WaitTimeout, wait_until
from docpipe.plan import PlacementPlan
from workers.contract import ROLES, Env

if TYPE_CHECKING:
    from temporalio.client import Client

    from workers.settings import Settings

ServiceName = Literal["temporal", "postgres", "valkey"]
NAMESPACE = "default"
ROOT = Path(__file__).resolve().parents[2]


def worker_name(role: str) -> str:
    return f"worker-{role}"


class LocalStack:
    def __init__(
        self,
        home: Home,
        plan: PlacementPlan,
        *,
        temporal_port: int | None = None,
        ui_port: int | None = None,
        valkey_port: int | None = None,
        offline: bool = False,
        env: Mapping[str, str] | None = None,
        grace_seconds: float = LOCAL_GRACE_SECONDS,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.home = home.create()
        self.plan = plan
        self.offline = offline
        self.grace_seconds = grace_seconds
        self._env = dict(os.environ if env is None else env)
        # Every child inherits this marker: leftovers of a killed run can be found by it.
        self._env[HOME_ENV] = str(home.root)
        self.on_event = on_event or (lambda _msg: None)
        self.temporal = TemporalDevServer(
            home.temporal_dir,
            port=temporal_port,
            ui_port=ui_port,
            namespace=NAMESPACE,
            headless=False,
            sqlite_pragmas=FAST_SQLITE_PRAGMAS,
        )
        self.postgres = Postgres(home.postgres_dir, password_file=home.password_file)
        self.valkey = Valkey(port=valkey_port, data_dir=home.valkey_dir)
        self.supervisor = Supervisor(on_event=self.on_event)
        self.roles: list[LocalRole] = []
        self.leftovers: list[str] = []
        self._owns_state = False
        self.lock = DevLock(self.home)
        self.orchestrated = False  # Temporal and Valkey were started (not for an all-skipped run)

    @property
    def stage_key(self) -> str:
        """The Valkey hash the workers note each document's stage in (workers/stages.py)."""
        return f"docpipe:{self.plan.stack}:dev-stages"

    # --- addresses ------------------------------------------------------------------------------
    @property
    def ui_url(self) -> str:
        return f"{self.temporal.ui_url}/namespaces/{NAMESPACE}/workflows"

    def endpoints(self) -> Endpoints:
        return Endpoints(
            temporal_address=self.temporal.address,
            namespace=NAMESPACE,
            database_url=self.postgres.url,
            valkey_url=self.valkey.url,
            payload_dir=self.home.payload_dir,
            temporal_profile=self.home.temporal_profile,
        )

    def settings(self) -> Settings:
        """Worker settings as the workflow role sees them (queue prefix, payload dir) for clients."""
        from workers.settings import Settings

        return Settings.from_env(self.roles[0].env if self.roles else {})

    async def client(self) -> Client:
        """A Temporal client with the workers' data converter (payloads in .docpipe/payloads)."""
        from temporalio.client import Client

        from workers.payloads import data_converter

        return await Client.connect(
            self.temporal.address, namespace=NAMESPACE, data_converter=data_converter(self.settings())
        )

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self, ready_timeout: float = 120.0) -> Self:
        try:
            self.start_services()
            self.start_workers(ready_timeout)
            self._write_state()
        except BaseException:
            self.stop()
            raise
        return self

    @contextlib.contextmanager
    def _marked_environ(self) -> Iterator[None]:
        """Services start from this process's environment: mark it for them, then restore it."""
        before = os.environ.get(HOME_ENV)
        os.environ[HOME_ENV] = str(self.home.root)
        try:
            yield
        finally:
            if before is None:
                os.environ.pop(HOME_ENV, None)
            else:
                os.environ[HOME_ENV] = before

    @contextlib.contextmanager
    def _private_files(self) -> Iterator[None]:
        """umask 077 while services start (their files are this user's only), then restore it."""
        before = os.umask(0o077)
        try:
            yield
        finally:
            os.umask(before)
            self.home.restrict()

    def _record(self, name: ServiceName) -> None:
        record_process(self.home, name, self.service(name).pid)

    def start_services(self) -> None:
        """Take the data dir's lock first (AlreadyRunning names its holder), reap what a killed
        `docpipe dev` left, then start PostgreSQL, and Temporal and Valkey side by side, each
        recorded as it starts."""
        self.start_database()
        self.start_orchestration()

    def start_database(self) -> None:
        """The lock, then PostgreSQL alone: enough to tell which documents are already stored."""
        self.lock.acquire()
        self.leftovers = reap_leftovers(self.home)
        with self._marked_environ(), self._private_files():
            prune_pg_handles(self.home.postgres_dir)
            self.postgres.start()
            self._record("postgres")

    def start_orchestration(self) -> None:
        """The Temporal dev server and Valkey, started side by side (each mostly waits)."""
        with self._marked_environ(), self._private_files():
            valkey = threading.Thread(target=self._start_valkey, name="docpipe-valkey-start")
            valkey.start()
            try:
                self.temporal.start()
                self._record("temporal")
            finally:
                valkey.join()
            if self._valkey_error is not None:
                raise self._valkey_error
            self._record("valkey")
        self.orchestrated = True
        write_private(
            self.home.temporal_profile,
            "# The local Temporal of `docpipe dev` (TEMPORAL_CONFIG_FILE=this file temporal workflow list)\n"
            f'[profile.default]\naddress = "{self.temporal.address}"\nnamespace = "{NAMESPACE}"\n',
        )

    _valkey_error: BaseException | None = None

    def _start_valkey(self) -> None:
        try:
            self.valkey.start()
        except BaseException as err:  # re-raised by the starting thread
            self._valkey_error = err

    def _worker_spec(
        self, lr: LocalRole, name: str, extra_env: Mapping[str, str] | None = None
    ) -> ProcessSpec:
        """How a `docpipe worker` process for `lr` is started and supervised (one place for all)."""
        env = lr.full_env(self._env)
        env.update(
            {
                HOME_ENV: str(self.home.root),
                "PYTHONUNBUFFERED": "1",
                Env.STAGE_KEY: self.stage_key,
                **(extra_env or {}),
            }
        )
        return ProcessSpec(
            name=name,
            argv=[sys.executable, "-m", "docpipe.cli", "worker", lr.role],
            env=env,
            log_path=self.home.log_dir / f"{name}.log",
            ready_text=f"docpipe worker {lr.role} ready",
            cwd=ROOT,
        )

    def start_workers(self, ready_timeout: float = 120.0) -> None:
        self.roles = realize(self.plan, self.endpoints(), self._env, offline=self.offline)
        for lr in self.roles:
            self.supervisor.add(self._worker_spec(lr, worker_name(lr.role)))
        # While the workers import (~1 s of CPU each), make their versions current: a version's
        # tasks are dispatched only once it is, and each worker would otherwise wait for its own
        # promotion after it is ready (it still checks, and finds its version current).
        promoting = threading.Thread(target=self._promote_versions, name="docpipe-promote", daemon=True)
        promoting.start()
        for lr in self.roles:
            self.supervisor.start(worker_name(lr.role))
            record_process(self.home, worker_name(lr.role), self.supervisor[worker_name(lr.role)].pid)
        self.supervisor.wait_ready([worker_name(r) for r in ROLES], ready_timeout)
        # Not joined: a new deployment's first promotion takes the server about a second, and
        # documents can be submitted meanwhile (their tasks wait until the version is current).
        self.supervisor.start_monitor()

    def _promote_versions(self) -> None:
        import asyncio

        from temporalio.client import Client
        from temporalio.common import WorkerDeploymentVersion

        from workers.settings import Settings
        from workers.versioning import promote

        async def run() -> None:
            client = await Client.connect(self.temporal.address, namespace=NAMESPACE)
            versions = []
            for lr in self.roles:
                s = Settings.from_env(lr.env)
                versions.append(
                    (WorkerDeploymentVersion(s.deployment_name(lr.role), s.build_id), s.promote_version)
                )
            await asyncio.gather(*(promote(client, v, policy) for v, policy in versions))

        try:
            asyncio.run(run())
        except Exception as err:  # the workers promote their own versions too
            self.on_event(f"could not make the worker versions current ahead of the workers: {err}")

    def stop(self) -> None:
        """Workers first (drain), then the services. Safe to call twice."""
        try:
            self.supervisor.stop_all(self.grace_seconds + 5)
        finally:
            for service in (self.valkey, self.temporal, self.postgres):
                try:
                    if service is self.temporal:
                        # The workers have stopped: nothing is in flight, and a graceful stop
                        # costs 1.2 s (SIGTERM and SIGINT alike). Its SQLite (WAL) commits every
                        # change as it is made, so a kill loses nothing (tests/dev checks that a
                        # restart sees every run).
                        self.temporal.stop(kill=True)
                    else:
                        service.stop()
                except Exception as err:
                    self.on_event(f"{service.name} did not stop cleanly: {err}")
            if self._owns_state:
                clear_state(self.home)
                self._owns_state = False
            if self.lock.held:
                clear_processes(self.home)
                self.lock.release()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _write_state(self) -> None:
        self._owns_state = True
        children = dict(self.supervisor.pids())
        if self.temporal.pid:
            children["temporal"] = self.temporal.pid
        write_state(
            self.home,
            DevState(
                pid=os.getpid(),
                stack=self.plan.stack,
                started=time.time(),
                temporal_address=self.temporal.address,
                temporal_ui=self.ui_url,
                database_url=self.postgres.url,
                valkey_url=self.valkey.url,
                children=children,
                role_envs={lr.role: {**lr.env, HOME_ENV: str(self.home.root)} for lr in self.roles},
            ),
        )

    # --- faults and restarts (fault suites, target flips) ---------------------------------------
    def worker_pid(self, role: str) -> int | None:
        return self.supervisor[worker_name(role)].pid

    def kill_worker(self, role: str, sig: int = signal.SIGKILL) -> int | None:
        """Signal one role's worker group; after an exit the supervisor starts a new one."""
        return self.supervisor.kill(worker_name(role), sig)

    def add_worker(
        self,
        role: str,
        name: str,
        env: Mapping[str, str] | None = None,
        *,
        realized: LocalRole | None = None,
        ready_timeout: float = 120.0,
    ) -> str:
        """Start one more worker for `role` (same queue), e.g. the new target's during a flip rehearsal.

        It runs with the role's realized environment (or `realized`, a role realized from another
        plan) plus `env` (say another DOCPIPE_BUILD_ID) and is supervised like the others;
        `stop_worker(name)` sends it SIGTERM and waits for its drain.
        """
        base = realized or next(r for r in self.roles if r.role == role)
        self.supervisor.add(self._worker_spec(base, name, env))
        self.supervisor.start(name)
        self.supervisor.wait_ready([name], ready_timeout)
        return name

    def stop_worker(self, name_or_role: str) -> None:
        """SIGTERM (drain within the grace period), then SIGKILL; not restarted."""
        name = name_or_role if name_or_role in self.supervisor.names() else worker_name(name_or_role)
        self.supervisor.stop(name, grace=self.grace_seconds + 5)

    def wait_workers_ready(self, timeout: float = 60.0) -> None:
        """Until every role's worker is up and polling again (restarts included)."""
        names = [worker_name(r) for r in ROLES]

        def all_ready() -> bool:
            if all(self.supervisor.is_ready(n) for n in names):
                return True
            failed = self.supervisor.failures()
            if failed:
                raise SupervisorError("; ".join(f"{n} {why}" for n, why in failed.items()))
            return False

        try:
            wait_until(all_ready, timeout, 0.05, what="every role's worker to be ready")
        except WaitTimeout as err:
            late = [n for n in names if not self.supervisor.is_ready(n)]
            raise SupervisorError(f"{err}: {', '.join(late)} not ready") from None

    def service(self, name: ServiceName) -> Any:
        return {"temporal": self.temporal, "postgres": self.postgres, "valkey": self.valkey}[name]

    def stop_service(self, name: ServiceName) -> None:
        self.service(name).stop()

    def start_service(self, name: ServiceName) -> None:
        """Start a stopped service again on the same port / data directory (workers keep their env)."""
        svc = self.service(name)
        if name == "postgres":
            prune_pg_handles(self.home.postgres_dir)
        with self._marked_environ(), self._private_files():
            svc.start()
        self._record(name)
        if name in {"temporal", "valkey"}:
            self._write_state()

    def restart_service(self, name: ServiceName) -> None:
        self.stop_service(name)
        self.start_service(name)
