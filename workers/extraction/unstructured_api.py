"""The `unstructured-api` extraction backend: Unstructured's partition API via unstructured-client.

Retries are explicit and short (the client's default retries for up to 30 minutes): the client
retries a few quick transient failures, then Temporal's retry policy takes over. 4xx answers other
than 429 mean the document itself is the problem and become non-retryable bad-document errors.
"""

from __future__ import annotations

from typing import Any

from temporalio.exceptions import ApplicationError

from workers.contract import Env
from workers.errors import bad_document
from workers.settings import Settings
from workers.types import DocumentRef, Element

REQUEST_TIMEOUT_MS = 300_000


class UnstructuredApiExtractor:
    def __init__(self, settings: Settings, client: Any = None, max_retry_ms: int = 15_000) -> None:
        self._settings = settings
        self._client = client
        self._max_retry_ms = max_retry_ms

    def _get_client(self) -> Any:
        if self._client is None:
            from unstructured_client import UnstructuredClient
            from unstructured_client.utils import BackoffStrategy, RetryConfig

            retry = RetryConfig(
                "backoff",
                BackoffStrategy(
                    initial_interval=500,
                    max_interval=4_000,
                    exponent=2.0,
                    max_elapsed_time=self._max_retry_ms,
                ),
                retry_connection_errors=True,
            )
            self._client = UnstructuredClient(
                api_key_auth=self._settings.unstructured_api_key,
                server_url=self._settings.unstructured_api_url,
                retry_config=retry,
                timeout_ms=REQUEST_TIMEOUT_MS,
            )
        return self._client

    async def extract(self, ref: DocumentRef, data: bytes) -> tuple[list[Element], int]:
        from unstructured_client.models import operations, shared
        from unstructured_client.models.errors import UnstructuredClientError

        params = shared.PartitionParameters(
            files=shared.Files(content=data, file_name=ref.filename),
            strategy=self._settings.unstructured_strategy,
            split_pdf_page=self._settings.unstructured_split_pdf_page,
            split_pdf_allow_failed=False,
            split_pdf_concurrency_level=4,
        )
        try:
            response = await self._get_client().general.partition_async(
                request=operations.PartitionRequest(partition_parameters=params)
            )
        except UnstructuredClientError as err:
            status = getattr(err, "status_code", 0) or 0
            if status in (401, 403):
                # The worker's key, not the document: retried (an operator may fix the key meanwhile),
                # and the reason says where to look. Never includes the key itself.
                raise ApplicationError(
                    f"partition API refused the key ({status}): check {Env.UNSTRUCTURED_API_KEY}",
                    type="BackendAuth",
                ) from None
            if 400 <= status < 500 and status not in (408, 429):
                # The reason comes from the API's own message; it never carries the API key.
                raise bad_document(
                    f"{ref.filename}: partition API rejected it ({status}): {_short(err)}"
                ) from None
            raise  # 5xx / 429 / 408: transient, Temporal retries
        elements: list[Element] = list(response.elements or [])
        pages = max((int((e.get("metadata") or {}).get("page_number") or 1) for e in elements), default=0)
        return elements, pages


def _short(err: Exception, limit: int = 300) -> str:
    text = " ".join(str(getattr(err, "body", "") or err).split())
    return text[:limit]
