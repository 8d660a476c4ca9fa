"""A local Lambda Runtime API (2018-06-01) for one function instance, as awslambdaric 4.2 speaks it.

The real runtime interface client (`python -m awslambdaric HANDLER`, the image's Lambda entrypoint)
talks to `$AWS_LAMBDA_RUNTIME_API` through its native client (aws-lambda-cpp, libcurl), plus
`http.client` for the init error:

  GET  /2018-06-01/runtime/invocation/next            blocks until an invocation is queued; the
       event is the body, the context comes in headers: Lambda-Runtime-Aws-Request-Id,
       Lambda-Runtime-Deadline-Ms (epoch ms), Lambda-Runtime-Invoked-Function-Arn,
       Lambda-Runtime-Trace-Id
  POST /2018-06-01/runtime/invocation/{id}/response   the handler's result          → 202
  POST /2018-06-01/runtime/invocation/{id}/error      an unhandled exception (JSON body with
       errorType / errorMessage / stackTrace; X-Ray cause header)                   → 202
  POST /2018-06-01/runtime/init/error                 the handler module failed to import (header
       Lambda-Runtime-Function-Error-Type, JSON body); the process then exits 1   → 202

A test queues invocations with a timeout (`invoke`); each one records when it was handed out (the
deadline is `handed out + timeout`, as Lambda computes it at invoke start), when and how it was
answered, and so its billed duration (Lambda bills from invoke start to the response, to the ms).
One server per function instance: Lambda hands an instance one invocation at a time.
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.loopback import LoopbackServer

PREFIX = "/2018-06-01/runtime"
_ANSWER = re.compile(rf"^{PREFIX}/invocation/(?P<id>[^/]+)/(?P<kind>response|error)$")
DEFAULT_ARN = "arn:aws:lambda:us-east-1:123456789012:function:docpipe-test:1"


@dataclass
class Invocation:
    request_id: str
    timeout_seconds: float
    event: Any
    queued_at: float  # epoch seconds
    handed_out_at: float | None = None
    deadline_ms: int | None = None
    answered_at: float | None = None
    outcome: str | None = None  # "response" | "error"
    body: bytes = b""
    error_type: str | None = None
    _handed: threading.Event = field(default_factory=threading.Event, repr=False)
    _answered: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def billed_seconds(self) -> float | None:
        """From invoke start (handed out) to the answer, as Lambda's Billed Duration (rounded up, ms)."""
        if self.handed_out_at is None or self.answered_at is None:
            return None
        return -(-round((self.answered_at - self.handed_out_at) * 1e6) // 1000) / 1000

    @property
    def deadline(self) -> float:
        """The deadline as epoch seconds (known once handed out)."""
        assert self.deadline_ms is not None, "not handed out yet"
        return self.deadline_ms / 1000

    @property
    def answered(self) -> bool:
        return self._answered.is_set()

    def wait_handed_out(self, timeout: float) -> bool:
        return self._handed.wait(timeout)

    def wait_answered(self, timeout: float) -> bool:
        return self._answered.wait(timeout)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class InitError:
    at: float
    error_type: str | None
    body: dict[str, Any]


class LambdaRuntimeAPI:
    """`with LambdaRuntimeAPI() as api:` → `api.address` for AWS_LAMBDA_RUNTIME_API."""

    def __init__(self, function_arn: str = DEFAULT_ARN) -> None:
        self.function_arn = function_arn
        self.invocations: list[Invocation] = []
        self.init_errors: list[InitError] = []
        self.protocol_errors: list[str] = []  # requests the real API would reject
        self._pending: queue.Queue[Invocation] = queue.Queue()
        self._by_id: dict[str, Invocation] = {}
        self._current: Invocation | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._init_error = threading.Event()
        self._http = LoopbackServer(self._handler_class(), "lambda-runtime-api")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._http.port}"

    def __enter__(self) -> LambdaRuntimeAPI:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._closing.set()
        self._http.stop()

    def invoke(self, timeout_seconds: float, event: Any = None) -> Invocation:
        """Queue an invocation; the function's next `GET …/invocation/next` receives it."""
        inv = Invocation(
            request_id=str(uuid.uuid4()),
            timeout_seconds=timeout_seconds,
            event={} if event is None else event,
            queued_at=time.time(),
        )
        with self._lock:
            self.invocations.append(inv)
            self._by_id[inv.request_id] = inv
        self._pending.put(inv)
        return inv

    def wait_init_error(self, timeout: float) -> InitError | None:
        return self.init_errors[0] if self._init_error.wait(timeout) else None

    # ---- the HTTP side ------------------------------------------------------------------------

    def _next(self) -> Invocation | None:
        with self._lock:
            if self._current is not None and self._current.outcome is None:
                self.protocol_errors.append(f"next requested before {self._current.request_id} was answered")
        while not self._closing.is_set():
            try:
                inv = self._pending.get(timeout=0.2)
            except queue.Empty:
                continue
            now = time.time()
            with self._lock:
                inv.handed_out_at = now
                inv.deadline_ms = int((now + inv.timeout_seconds) * 1000)
                self._current = inv
            inv._handed.set()
            return inv
        return None

    def _answer(self, request_id: str, kind: str, body: bytes, error_type: str | None) -> bool:
        now = time.time()
        with self._lock:
            inv = self._by_id.get(request_id)
            if inv is None or inv.handed_out_at is None or inv.outcome is not None:
                self.protocol_errors.append(f"{kind} for unknown or answered invocation {request_id}")
                return False
            inv.answered_at, inv.outcome, inv.body, inv.error_type = now, kind, body, error_type
        inv._answered.set()
        return True

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # libcurl keeps the connection open between calls

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _body(self) -> bytes:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    chunks: list[bytes] = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    self.close_connection = True  # the function instance went away (or exited)

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    api.protocol_errors.append(f"GET {self.path}")
                    self._send(HTTPStatus.NOT_FOUND, b'{"errorType":"InvalidRequest"}')
                    return
                inv = api._next()
                if inv is None:  # shutting down
                    self.close_connection = True
                    return
                trace = f"Root=1-{int(inv.queued_at):08x}-{inv.request_id.replace('-', '')[:24]};Sampled=0"
                self._send(
                    HTTPStatus.OK,
                    json.dumps(inv.event).encode(),
                    {
                        "Lambda-Runtime-Aws-Request-Id": inv.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
                        "Lambda-Runtime-Trace-Id": trace,
                    },
                )

            def do_POST(self) -> None:
                body = self._body()
                error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
                if self.path == f"{PREFIX}/init/error":
                    try:
                        detail = json.loads(body or b"{}")
                    except json.JSONDecodeError:
                        detail = {"raw": body.decode(errors="replace")}
                    api.init_errors.append(InitError(time.time(), error_type, detail))
                    api._init_error.set()
                    self._send(HTTPStatus.ACCEPTED, b'{"status":"OK"}')
                    return
                match = _ANSWER.match(self.path)
                if match is None:
                    api.protocol_errors.append(f"POST {self.path}")
                    self._send(HTTPStatus.NOT_FOUND, b'{"errorType":"InvalidRequest"}')
                    return
                if match["kind"] == "error" and error_type is None:
                    # awslambdaric's native client sends the type in the JSON body only.
                    with contextlib.suppress(json.JSONDecodeError, AttributeError):
                        error_type = json.loads(body).get("errorType")
                if api._answer(match["id"], match["kind"], body, error_type):
                    self._send(HTTPStatus.ACCEPTED, b'{"status":"OK"}')
                else:
                    self._send(HTTPStatus.BAD_REQUEST, b'{"errorType":"InvalidStateTransition"}')

        return Handler
