"""Session fixtures for tests on real services: Temporal dev server, PostgreSQL, Valkey.

Each service starts once per session on free ports (docpipe.local.services) and is stopped at the
end. Tests isolate themselves with their own task-queue prefix, stack name and database.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from docpipe.local.services import Postgres, TemporalDevServer, Valkey


@pytest.fixture(scope="session")
def temporal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalDevServer]:
    with TemporalDevServer(tmp_path_factory.mktemp("temporal")) as server:
        yield server


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    with Postgres(tmp_path_factory.mktemp("postgres") / "data") as server:
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
