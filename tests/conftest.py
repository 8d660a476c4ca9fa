"""Session fixtures for tests on real services: Temporal dev server, PostgreSQL, Valkey.

Each service starts once per session on free ports (docpipe.local.services) and is stopped at the
end. Tests isolate themselves with their own task-queue prefix, stack name and database.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from docpipe.local.services import Postgres, TemporalDevServer, Valkey

pytest_plugins = ["tests.aws_emulator"]  # the AWS API emulator (moto) fixtures


@pytest.fixture(scope="session")
def services_dir() -> Iterator[Path]:
    # Not under pytest's tmp_path: a concurrent pytest run re-chmods /tmp/pytest-of-<user> to 0700,
    # which cuts off PostgreSQL (it runs as its own system user when we are root) mid-session.
    with tempfile.TemporaryDirectory(prefix="docpipe-test-services-") as d:
        os.chmod(d, 0o755)
        yield Path(d)


@pytest.fixture(scope="session")
def temporal_server(services_dir: Path) -> Iterator[TemporalDevServer]:
    with TemporalDevServer(services_dir / "temporal") as server:
        yield server


@pytest.fixture(scope="session")
def postgres(services_dir: Path) -> Iterator[Postgres]:
    with Postgres(services_dir / "postgres") as server:
        yield server


@pytest.fixture(scope="session")
def valkey() -> Iterator[Valkey]:
    with Valkey() as server:
        yield server


@pytest.fixture
def database_url(postgres: Postgres) -> Iterator[str]:
    """A fresh, empty database on the session's PostgreSQL (dropped afterwards)."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield postgres.create_database(name)
    postgres.drop_database(name)


@pytest.fixture
async def temporal_client(temporal_server: TemporalDevServer) -> AsyncIterator[object]:
    from temporalio.client import Client

    yield await Client.connect(temporal_server.address)


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "samples"


@pytest.fixture
def work_dir() -> Iterator[Path]:
    """A private directory for files worker processes share with the test (e.g. payloads)."""
    with tempfile.TemporaryDirectory(prefix="docpipe-test-") as d:
        yield Path(d)
