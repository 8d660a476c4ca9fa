"""Session fixtures for tests/iam: one IAM-enforcing moto, one STS front, one metadata server, one
World (its proofs are cached per distinct declared identity, so each is run once per session)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.aws_emulator import MotoEndpoint, WebIdentitySts
from tests.iam.proof import World

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workers"))  # gcp_metadata_server

UNIQUE_ID = "100000000000000000001"  # the mocks' service-account unique id (infra.offline)


@pytest.fixture(scope="session")
def world(moto_iam_server: MotoEndpoint, temporal_server: object) -> Iterator[World]:
    from gcp_metadata_server import GcpMetadataServer

    with (
        GcpMetadataServer(unique_id=UNIQUE_ID) as metadata,
        WebIdentitySts(moto_iam_server, metadata.verify) as sts,
    ):
        yield World(moto_iam_server, sts, metadata, temporal_server.address)  # type: ignore[attr-defined]
