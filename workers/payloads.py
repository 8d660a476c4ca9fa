"""Payload discipline: large payloads (extracted elements) go to external storage, not history.

Temporal's external storage moves any payload over the threshold to a driver and keeps only a claim
in workflow history: the document bucket in the cloud (temporalio's S3 driver, on a workers.aws client) or
a local directory in dev. Every client and worker of a deployment must use the same converter.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    ExternalStorage,
    StorageDriver,
    StorageDriverClaim,
    StorageDriverRetrieveContext,
    StorageDriverStoreContext,
)

from workers.settings import Settings


class LocalDirStorageDriver(StorageDriver):
    """Payloads as files named by their sha256 in a directory shared by every local process."""

    def __init__(self, directory: str | Path) -> None:
        self._dir = Path(directory)

    def name(self) -> str:
        return "docpipe.localdir"

    async def store(
        self, context: StorageDriverStoreContext, payloads: Sequence[Payload]
    ) -> list[StorageDriverClaim]:
        return await asyncio.to_thread(self._store, payloads)

    def _store(self, payloads: Sequence[Payload]) -> list[StorageDriverClaim]:
        self._dir.mkdir(parents=True, exist_ok=True)
        claims = []
        for payload in payloads:
            data = payload.SerializeToString()
            key = hashlib.sha256(data).hexdigest()
            path = self._dir / key
            if not path.exists():
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(data)
                tmp.replace(path)  # atomic: a reader never sees half a payload
            claims.append(StorageDriverClaim({"key": key}))
        return claims

    async def retrieve(
        self, context: StorageDriverRetrieveContext, claims: Sequence[StorageDriverClaim]
    ) -> list[Payload]:
        return await asyncio.to_thread(self._retrieve, claims)

    def _retrieve(self, claims: Sequence[StorageDriverClaim]) -> list[Payload]:
        out = []
        for claim in claims:
            payload = Payload()
            payload.ParseFromString((self._dir / claim.claim_data["key"]).read_bytes())
            out.append(payload)
        return out


def _boto3_s3_client() -> Any:
    from temporalio.contrib.aws.s3driver import S3StorageDriverClient

    class Boto3S3Client(S3StorageDriverClient):
        """temporalio's S3 driver on a boto3 client (run in threads) — no aioboto3 dependency.

        The client comes from workers.aws (web identity on Cloud Run) and is made at the first large
        payload, so boto3 is not imported when a worker starts (Lambda cold starts).
        """

        def __init__(self) -> None:
            self._client: Any = None

        def _s3(self) -> Any:
            if self._client is None:
                from workers import aws

                self._client = aws.client("s3")
            return self._client

        async def put_object(self, *, bucket: str, key: str, data: bytes) -> None:
            await asyncio.to_thread(lambda: self._s3().put_object(Bucket=bucket, Key=key, Body=data))

        async def object_exists(self, *, bucket: str, key: str) -> bool:
            def head() -> bool:
                s3 = self._s3()
                try:
                    s3.head_object(Bucket=bucket, Key=key)
                    return True
                except s3.exceptions.ClientError:
                    return False

            return await asyncio.to_thread(head)

        async def get_object(self, *, bucket: str, key: str) -> bytes:
            def get() -> bytes:
                body: bytes = self._s3().get_object(Bucket=bucket, Key=key)["Body"].read()
                return body

            return await asyncio.to_thread(get)

    return Boto3S3Client()


def data_converter(settings: Settings) -> DataConverter:
    """The default converter, plus external storage when a payload dir or bucket is configured."""
    driver: StorageDriver | None = None
    if settings.payload_dir:
        driver = LocalDirStorageDriver(settings.payload_dir)
    elif settings.bucket:
        from temporalio.contrib.aws.s3driver import S3StorageDriver

        driver = S3StorageDriver(client=_boto3_s3_client(), bucket=settings.bucket)
    if driver is None:
        return DataConverter.default
    storage = ExternalStorage(drivers=[driver], payload_size_threshold=settings.payload_threshold_bytes)
    return dataclasses.replace(DataConverter.default, external_storage=storage)
