"""Secrets echoed back by an API never leave the worker (issue 16, item 7).

A local server speaking the partition API's path echoes the request's API key in a 422 and in a 500
body, as some APIs do. The real unstructured-api backend calls it; what leaves through the worker's
boundaries — the activity error (its interceptor), the log (its filter), the stored reason (the
upsert) and `docpipe status` — must hold `[redacted]`, never the key. The whole pipeline on real
services is tests/workers/test_secret_echo.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from fault_stack import record
from temporalio.exceptions import ApplicationError

from tests.loopback import LoopbackServer
from workers import redact
from workers.documents import describe_bytes
from workers.errors import BAD_DOCUMENT
from workers.extraction.unstructured_api import UnstructuredApiExtractor
from workers.interceptors import _Inbound
from workers.settings import Settings
from workers.storage.repository import upsert_params
from workers.types import StoreInput

KEY = "sk-unstructured-4f9c2e1b7a"


class _Echo(BaseHTTPRequestHandler):
    status = 422

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        echoed = self.headers.get("unstructured-api-key", "")
        body = json.dumps({"detail": f"request rejected; headers: unstructured-api-key={echoed}"}).encode()
        self.send_response(type(self).status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def echo() -> Iterator[type[_Echo]]:
    handler = type("Echo", (_Echo,), {})
    server = LoopbackServer(handler, "echo-api")
    server.start()
    handler.url = f"http://127.0.0.1:{server.port}"  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("UNSTRUCTURED_API_KEY", KEY)
    redact.clear()
    redact.register_env()
    yield
    redact.clear()


class _Activity:
    """The next interceptor: runs the real extractor as the activity would."""

    def __init__(self, url: str) -> None:
        settings = Settings(unstructured_api_url=url, unstructured_api_key=KEY)  # type: ignore[call-arg]
        self.extractor = UnstructuredApiExtractor(settings, max_retry_ms=300)

    async def execute_activity(self, input: Any) -> Any:
        data = b"hello"
        return await self.extractor.extract(describe_bytes(data, "a.txt", "a.txt"), data)


async def _failure(url: str) -> ApplicationError:
    inbound = _Inbound(_Activity(url))  # type: ignore[arg-type]
    with pytest.raises(ApplicationError) as caught:
        await inbound.execute_activity(None)  # type: ignore[arg-type]
    return caught.value


def _leaks(err: BaseException) -> list[str]:
    """Every text of `err` and the chain Temporal would serialise with it that holds the key."""
    found = []
    link: BaseException | None = err
    while link is not None:
        if KEY in str(link) or KEY in repr(getattr(link, "details", ())):
            found.append(f"{type(link).__name__}: {link}")
        link = link.__cause__ or (None if link.__suppress_context__ else link.__context__)
    return found


async def test_a_422_echoing_the_key_fails_the_document_without_it(echo: type[_Echo]) -> None:
    echo.status = 422
    with pytest.raises(ApplicationError) as raw:  # the backend alone: the echo reaches its message
        await _Activity(echo.url).execute_activity(None)  # type: ignore[attr-defined]
    assert KEY in raw.value.message
    err = await _failure(echo.url)  # type: ignore[attr-defined]
    leaks = _leaks(err)
    record(
        "secrets", "422 body echoes the API key", leaked=len(leaks), redacted=int("[redacted]" in str(err))
    )
    assert not leaks
    assert err.type == BAD_DOCUMENT and err.non_retryable  # still a bad-document failure
    assert "(422)" in err.message and "unstructured-api-key=[redacted]" in err.message


async def test_a_500_echoing_the_key_is_retried_without_it(echo: type[_Echo]) -> None:
    echo.status = 500
    err = await _failure(echo.url)  # type: ignore[attr-defined]
    leaks = _leaks(err)
    record(
        "secrets", "500 body echoes the API key", leaked=len(leaks), redacted=int("[redacted]" in str(err))
    )
    assert not leaks
    assert not err.non_retryable, "a 5xx stays transient: Temporal retries it"
    assert "[redacted]" in err.message


def test_log_lines_and_tracebacks_are_scrubbed() -> None:
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    redact.install_log_filter([handler])
    log = logging.getLogger("test.secrets")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.error("call failed: %s", f"key={KEY}")
        try:
            raise RuntimeError(f"API said: bad key {KEY}")
        except RuntimeError:
            log.exception("activity failed")
    finally:
        log.removeHandler(handler)
    text = "\n".join(lines)
    record("secrets", "log line and traceback", leaked=text.count(KEY), redacted=text.count("[redacted]"))
    assert KEY not in text
    assert "call failed: key=[redacted]" in text and "bad key [redacted]" in text


def test_stored_reason_and_status_are_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    ref = describe_bytes(b"x", "a.txt", "a.txt")
    inp = StoreInput(document=ref, status="failed", reason=f"echo {KEY}", failed_stage="extraction")
    assert upsert_params(inp)["reason"] == "echo [redacted]"
    # URL-encoded forms (a key inside a query string) and DSN passwords are scrubbed too.
    redact.register_env({"DOCPIPE_DATABASE_URL": "postgresql://docpipe:pw-s3cret-9@host/db"})
    assert (
        redact.scrub("dsn postgresql://docpipe:pw-s3cret-9@host/db")
        == "dsn postgresql://docpipe:[redacted]@host/db"
    )
    assert redact.scrub("q?key=sk%2Funstr") == "q?key=sk%2Funstr"  # unregistered values are kept
    record("secrets", "stored reason, DSN password", leaked=0, redacted=2)
