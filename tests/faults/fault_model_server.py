"""A local model server speaking Ollama's `/api/chat` wire format (NDJSON streaming), for the real
`strands` analysis backend (provider `ollama`, `OLLAMA_HOST` pointed here).

What it answers depends on a marker in the document text it receives (`DOCPIPE-FAULT:<kind>`):

- no marker: a call of the structured-output tool (`DocumentAnalysis`) with a valid analysis;
  `DOCPIPE-ENRICH` in the text asks for enrichment with a small, well-behaved program;
- `malformed`: JSON text that fails `DocumentAnalysis` validation (a document type that does not
  exist, an empty summary) — Strands forces its tool once, gets the same text, and gives up;
- `prose`: no JSON at all, only a sentence;
- `loop`, `alloc`, `socket`, `print`: a valid analysis whose enrichment code is a hostile program
  (a busy loop, unbounded allocation, a network connection, gigabytes of output).

`DOCPIPE-SLOW:<ms>` in the text adds that much latency to the answer (a model that takes its time),
on top of the server-wide `latency_seconds`; `DOCPIPE-SLOW-ENRICH:<ms>` makes the well-behaved
enrichment code sleep that long first. The server records every request it answers.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from docpipe.local.services import free_port

MARKER = re.compile(r"DOCPIPE-FAULT:([a-z]+)")
SLOW = re.compile(r"DOCPIPE-SLOW:(\d+)")
SLOW_ENRICH = re.compile(r"DOCPIPE-SLOW-ENRICH:(\d+)")
TOOL = "DocumentAnalysis"

WELL_BEHAVED_CODE = (
    "result = {'elements': len(elements),"
    " 'words': sum(len(str(e.get('text', '')).split()) for e in elements)}"
)
HOSTILE_CODE = {
    # Pure CPU, no system calls: only the CPU-time limit stops it.
    "loop": "n = 0\nwhile True:\n    n += 1\n",
    # Grows until the address-space limit refuses more memory.
    "alloc": "chunks = []\nwhile True:\n    chunks.append(bytearray(64 * 1024 * 1024))\n",
    # Tries to reach a public address (no network in the sandbox, so it must fail there).
    "socket": (
        "import socket\n"
        "s = socket.create_connection(('93.184.216.34', 80), timeout=5)\n"
        "s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')\n"
        "result = s.recv(100).decode()\n"
    ),
    # Would print 4 GiB if nothing stopped it.
    "print": "import sys\nline = 'x' * 1048575 + '\\n'\nfor _ in range(4096):\n    sys.stdout.write(line)\n",
}


@dataclass
class ModelState:
    latency_seconds: float = 0.0
    requests: Counter[str] = field(default_factory=Counter)  # kind ('good', 'malformed', ...) → requests
    lock: threading.Lock = field(default_factory=threading.Lock)


def _texts(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content") or "") for m in body.get("messages") or [])


def _analysis(kind: str, text: str) -> dict[str, Any]:
    enrich = kind in HOSTILE_CODE or "DOCPIPE-ENRICH" in text
    code = HOSTILE_CODE.get(kind, WELL_BEHAVED_CODE) if enrich else None
    slow = SLOW_ENRICH.search(text)
    if code and slow:  # well-behaved but unhurried code: keeps enrichment in flight for a while
        code = f"import time\ntime.sleep({int(slow.group(1)) / 1000})\n" + code
    return {
        "document_type": "report",
        "summary": "A generated test document for the fault suites.",
        "key_entities": ["docpipe"],
        "needs_enrichment": enrich,
        "enrichment_code": code,
        "enrichment_plan": "count the elements and words" if enrich else None,
    }


def answer(state: ModelState, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The NDJSON lines of one /api/chat answer."""
    text = _texts(body)
    match = MARKER.search(text)
    kind = match.group(1) if match else "good"
    with state.lock:
        state.requests[kind] += 1
    slow = SLOW.search(text)
    delay = state.latency_seconds + (int(slow.group(1)) / 1000 if slow else 0.0)
    if delay:
        time.sleep(delay)
    model = body.get("model", "fake")
    now = "2026-11-29T00:00:00Z"
    message: dict[str, Any] = {"role": "assistant", "content": ""}
    tools = {t.get("function", {}).get("name") for t in body.get("tools") or []}
    if kind == "malformed":
        bad = {
            "document_type": "spreadsheet",
            "summary": "",
            "key_entities": "none",
            "needs_enrichment": "maybe",
        }
        message["content"] = json.dumps(bad)
    elif kind == "prose":
        message["content"] = "I read the document carefully and it seems fine to me."
    elif TOOL in tools:
        message["tool_calls"] = [{"function": {"name": TOOL, "arguments": _analysis(kind, text)}}]
    else:  # no tool offered: answer as JSON text (Strands validates it itself)
        message["content"] = json.dumps(_analysis(kind, text))
    done = {
        "model": model,
        "created_at": now,
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "stop",
        "total_duration": int(delay * 1e9) + 1_000_000,
        "prompt_eval_count": 100,
        "eval_count": 50,
    }
    return [{"model": model, "created_at": now, "message": message, "done": False}, done]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows failures only
        pass

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        # `GET /` is Ollama's liveness answer; the realizer only checks that the port answers.
        self._send(200, b"Ollama is running", "text/plain")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/api/chat":
            self._send(404, b'{"error": "not found"}', "application/json")
            return
        lines = answer(self.server.state, body)
        if body.get("stream") is False:
            final = {**lines[-1], "message": lines[0]["message"]}
            self._send(200, json.dumps(final).encode(), "application/json")
            return
        self._send(200, "".join(json.dumps(x) + "\n" for x in lines).encode(), "application/x-ndjson")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, state: ModelState) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = state


@contextmanager
def ollama_server(state: ModelState) -> Iterator[str]:
    """Serve on a free port in a thread; yields the base URL (OLLAMA_HOST)."""
    server = _Server(free_port(), state)
    thread = threading.Thread(target=server.serve_forever, name="fake-ollama", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
