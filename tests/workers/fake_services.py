"""Local HTTP servers speaking the wire formats of the hosted services the workers call.

- Unstructured partition API: `GET /general/docs` (split-PDF probe) and `POST /general/v0/general`
  (multipart `files`, `strategy`, `starting_page_number`, ...), header `unstructured-api-key`.
- E2B: `POST /v2/sandboxes` (201), `POST /execute` (NDJSON stdout / error / number_of_executions),
  `DELETE /sandboxes/{id}` (204). Code really runs, in a child Python process, like a sandbox would.
"""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from docpipe.local.services import free_port


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class PartitionState:
    api_key: str = "test-key"
    fail_status: int | None = None  # answer every partition call with this status
    fail_times: int = 0  # ... or only the first N calls
    delay_seconds: float = 0.0  # a slow partition, to catch a worker mid-activity
    echo_key: bool = False  # a failure's body echoes the request's API key (as some APIs do)
    calls: list[dict[str, Any]] = field(default_factory=list)
    docs_probes: int = 0


def unstructured_app(state: PartitionState) -> Starlette:
    async def docs(request: Request) -> Response:
        state.docs_probes += 1
        return JSONResponse({})

    async def partition(request: Request) -> Response:
        if request.headers.get("unstructured-api-key") != state.api_key:
            return JSONResponse({"detail": "API key is invalid"}, status_code=401)
        form = await request.form()
        upload: Any = form["files"]
        content = await upload.read()
        call = {k: v for k, v in form.items() if k != "files"}
        call["filename"] = upload.filename
        state.calls.append(call)
        if state.delay_seconds:
            await asyncio.sleep(state.delay_seconds)
        if state.fail_status and (state.fail_times == 0 or len(state.calls) <= state.fail_times):
            detail = f"simulated {state.fail_status}"
            if state.echo_key:
                detail += (
                    f"; request headers: unstructured-api-key={request.headers.get('unstructured-api-key')}"
                )
            return JSONResponse({"detail": detail}, status_code=state.fail_status)
        first = int(str(form.get("starting_page_number") or 1))
        if content.startswith(b"%PDF"):
            from pypdf import PdfReader

            pages = len(PdfReader(io.BytesIO(content)).pages)
        else:
            pages = 1
        elements = [
            {
                "type": "NarrativeText",
                "element_id": uuid.uuid4().hex,
                "text": f"Text of page {first + i} of {upload.filename}",
                "metadata": {"filename": upload.filename, "page_number": first + i, "languages": ["eng"]},
            }
            for i in range(pages)
        ]
        return JSONResponse(elements)

    return Starlette(
        routes=[
            Route("/general/docs", docs, methods=["GET"]),
            Route("/general/v0/general", partition, methods=["POST"]),
        ]
    )


@dataclass
class SandboxState:
    created: list[str] = field(default_factory=list)
    killed: list[str] = field(default_factory=list)
    executed: int = 0


def e2b_app(state: SandboxState) -> Starlette:
    async def create(request: Request) -> Response:
        sandbox_id = f"sbx{len(state.created) + 1}"
        state.created.append(sandbox_id)
        body = {
            "sandboxID": sandbox_id,
            "templateID": "code-interpreter-v1",
            "clientID": "local",
            "envdVersion": "0.2.0",
        }
        return JSONResponse(body, status_code=201)

    async def execute(request: Request) -> Response:
        payload = await request.json()
        state.executed += 1
        try:
            proc = subprocess.run(
                [sys.executable, "-c", payload["code"]],
                capture_output=True,
                text=True,
                timeout=20,
                check=False,
            )
            stdout, stderr, rc = proc.stdout, proc.stderr, proc.returncode
        except subprocess.TimeoutExpired:
            stdout, stderr, rc = "", "TimeoutError: killed", 1
        now = "2026-11-29T00:00:00Z"
        lines = []
        if stdout:
            lines.append({"type": "stdout", "text": stdout, "timestamp": now})
        if rc != 0:
            last = [ln for ln in stderr.strip().splitlines() if ln.strip()] or ["Error: failed"]
            name, _, value = last[-1].partition(": ")
            lines.append({"type": "error", "name": name, "value": value, "traceback": stderr})
        lines.append({"type": "number_of_executions", "execution_count": state.executed})
        return StreamingResponse(
            iter([json.dumps(x) + "\n" for x in lines]), media_type="application/x-ndjson"
        )

    async def kill(request: Request) -> Response:
        state.killed.append(request.path_params["sandbox_id"])
        return Response(status_code=204)

    return Starlette(
        routes=[
            Route("/v2/sandboxes", create, methods=["POST"]),
            Route("/sandboxes", create, methods=["POST"]),
            Route("/execute", execute, methods=["POST"]),
            Route("/sandboxes/{sandbox_id}", kill, methods=["DELETE"]),
        ]
    )
