"""A worker process's AWS code paths, run as a child by tests/workers/test_web_identity.py.

`python tests/workers/web_identity_probe.py STEP...` runs the workers' own functions, in order, in
this one process (so they share its credentials, as in a worker), and prints one JSON line per step:

- `secrets`: `workers.secrets.resolve_secret_refs()` (DOCPIPE_SECRET_REFS → env vars); reports the
  variables set and each value's sha256 (never the value).
- `read`: `workers.documents.read_document()` of $PROBE_DOCUMENT_URI (sha256 $PROBE_DOCUMENT_SHA256).
- `offload`: `workers.payloads.data_converter(Settings.from_env())` encodes a value over the payload
  threshold (temporalio's S3 driver on the workers' client) and decodes it back.
- `identity`: STS GetCallerIdentity through `workers.aws.client`.

Each line: `step`, `ok`, the step's results or `error` (type and message), and `signed_with`: the
access key id of every signed AWS request the step made (read off the Authorization header).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import sys
from typing import Any

_signed: list[str] = []


def _watch_signatures() -> None:
    from workers import aws

    if aws.web_identity_config() is None:
        return

    def record(request: Any, **_: Any) -> None:
        match = re.search(r"Credential=([A-Z0-9]+)/", request.headers.get("Authorization", b"").decode())
        if match:
            _signed.append(match.group(1))

    # Clients created from the session afterwards inherit the hook.
    aws.session().events.register("before-send", record)


async def _step(name: str) -> dict[str, Any]:
    if name == "secrets":
        from workers.secrets import resolve_secret_refs

        done = resolve_secret_refs()
        return {"set": done, "sha256": {v: hashlib.sha256(os.environ[v].encode()).hexdigest() for v in done}}
    if name == "read":
        from workers.documents import read_document
        from workers.types import DocumentRef

        uri = os.environ["PROBE_DOCUMENT_URI"]
        ref = DocumentRef(
            uri=uri,
            sha256=os.environ["PROBE_DOCUMENT_SHA256"],
            filename=uri.rsplit("/", 1)[-1],
            content_type="text/markdown",
            size=0,
        )
        return {"size": len(await read_document(ref))}
    if name == "offload":
        from workers.payloads import data_converter
        from workers.settings import Settings

        converter = data_converter(Settings.from_env())
        value = {"elements": ["x" * 64] * 2048}  # ~140 kB, over the threshold the test sets
        payloads = await converter.encode([value])
        stored = payloads[0].ByteSize()
        decoded = await converter.decode(payloads, [dict])
        return {"stored_bytes": stored, "round_trip": decoded[0] == value}
    if name == "identity":
        from workers import aws

        return {"arn": aws.client("sts").get_caller_identity()["Arn"]}
    raise SystemExit(f"unknown step {name}")


async def main(steps: list[str]) -> None:
    # As `docpipe worker` logs (workers/cli.py): INFO on stderr.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    _watch_signatures()
    for name in steps:
        before = len(_signed)
        line: dict[str, Any] = {"step": name}
        try:
            line |= {"ok": True, **await _step(name)}
        except Exception as err:
            line |= {"ok": False, "error": f"{type(err).__name__}: {err}"}
        line["signed_with"] = _signed[before:]
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
