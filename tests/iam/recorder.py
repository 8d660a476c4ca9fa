"""Every boto3 call a test makes, recorded by botocore event hooks on every client created meanwhile.

`recording()` wraps `botocore.session.Session.create_client`, so each client — workers.aws's,
temporalio's S3 driver's, strands' Bedrock client on workers.aws.session() — gets three handlers:
`before-parameter-build` keeps the call's API parameters, `before-call` records service, operation,
parameters, region and the access key the call is signed with, `after-call` records the outcome
(HTTP status and error code). Services the emulator does not serve (`bedrock-runtime`) are answered
in `before-call` by a scripted responder, so the code path completes without any network; the call
is recorded (and checked) all the same.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore.session

Responder = Callable[[str, dict[str, Any]], dict[str, Any]]


@dataclass
class Call:
    service: str
    operation: str
    params: dict[str, Any]
    region: str
    access_key: str
    status: int | None = None
    error: str | None = None
    emulated: bool = False  # answered by a scripted responder, not by an AWS emulator

    def brief(self) -> str:
        keys = {k: v for k, v in self.params.items() if k in ("Bucket", "Key", "SecretId", "modelId")}
        return f"{self.service}.{self.operation}({', '.join(f'{k}={v}' for k, v in keys.items())})"


@dataclass
class Recording:
    calls: list[Call] = field(default_factory=list)
    responders: dict[str, Responder] = field(default_factory=dict)

    def aws_calls(self) -> list[Call]:
        """Calls made with the role's credentials (not the web-identity exchange with STS)."""
        return [c for c in self.calls if c.service != "sts"]


def _access_key(request_signer: Any) -> str:
    credentials = getattr(request_signer, "_credentials", None)
    if credentials is None:
        return ""
    return str(credentials.get_frozen_credentials().access_key)


def _scrub(params: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v if isinstance(v, str | int | float | bool) else type(v).__name__) for k, v in params.items()
    }


@contextlib.contextmanager
def recording(responders: dict[str, Responder] | None = None) -> Iterator[Recording]:
    rec = Recording(responders=dict(responders or {}))
    original = botocore.session.Session.create_client

    def create_client(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        client = original(self, service_name, *args, **kwargs)
        service = client.meta.service_model.service_name
        region = client.meta.region_name or ""

        def keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            kept = _scrub(dict(params))
            tools = [
                t.get("toolSpec", {}).get("name") for t in (params.get("toolConfig") or {}).get("tools", [])
            ]
            if tools:
                kept["docpipe_tools"] = ",".join(str(t) for t in tools)
            context["docpipe_params"] = kept

        def before(model: Any, request_signer: Any, context: dict[str, Any], **_: Any) -> Any:
            params = context.get("docpipe_params", {})
            call = Call(
                service, model.name, params, region, "" if service == "sts" else _access_key(request_signer)
            )
            rec.calls.append(call)
            context["docpipe_call"] = call
            responder = rec.responders.get(service)
            if responder is None:
                return None
            from botocore.awsrequest import AWSResponse

            call.emulated = True
            return AWSResponse("https://scripted.invalid/", 200, {}, None), responder(model.name, params)

        def after(http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            call = context.get("docpipe_call")
            if call is not None:
                call.status = int(getattr(http_response, "status_code", 0) or 0)
                call.error = (parsed.get("Error") or {}).get("Code") if isinstance(parsed, dict) else None

        client.meta.events.register("before-parameter-build", keep_params)
        client.meta.events.register("before-call", before)
        client.meta.events.register("after-call", after)
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    try:
        yield rec
    finally:
        botocore.session.Session.create_client = original  # type: ignore[method-assign]


# --- Bedrock: a scripted ConverseStream answer (the structured-output tool call) -----------------


def bedrock_analysis(analysis: dict[str, Any]) -> Responder:
    """ConverseStream answered with one tool call carrying `analysis` for whichever tool strands
    registered for structured output (the request's tool spec names it); later turns end the turn."""
    turns: list[int] = []

    def respond(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if operation != "ConverseStream":
            raise AssertionError(f"scripted Bedrock answers ConverseStream only, not {operation}")
        turns.append(1)
        tools = str(params.get("docpipe_tools", "")).split(",")
        tool = "DocumentAnalysis" if "DocumentAnalysis" in tools else tools[-1]
        if len(turns) == 1:
            events = [
                {"messageStart": {"role": "assistant"}},
                {
                    "contentBlockStart": {
                        "start": {"toolUse": {"toolUseId": "t-1", "name": tool}},
                        "contentBlockIndex": 0,
                    }
                },
                {
                    "contentBlockDelta": {
                        "delta": {"toolUse": {"input": json.dumps(analysis)}},
                        "contentBlockIndex": 0,
                    }
                },
                {"contentBlockStop": {"contentBlockIndex": 0}},
                {"messageStop": {"stopReason": "tool_use"}},
            ]
        else:
            events = [
                {"messageStart": {"role": "assistant"}},
                {"contentBlockDelta": {"delta": {"text": "done"}, "contentBlockIndex": 0}},
                {"contentBlockStop": {"contentBlockIndex": 0}},
                {"messageStop": {"stopReason": "end_turn"}},
            ]
        events.append(
            {
                "metadata": {
                    "usage": {"inputTokens": 10, "outputTokens": 10, "totalTokens": 20},
                    "metrics": {"latencyMs": 1},
                }
            }
        )
        return {"stream": events}

    return respond
