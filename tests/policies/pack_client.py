"""Drive the real policy pack the way the Pulumi CLI does: a subprocess speaking the analyzer gRPC API.

`python -m pulumi.policy <engine-address> <pack-dir>` is how the CLI starts a Python pack: it runs
`policies/__main__.py`, whose `PolicyPack` prints the server's port and serves until stopped. The
CLI then asks for the pack's info, configures it (with each policy's schema defaults filled in, as
the CLI does), calls `Analyze` for every resource and `AnalyzeStack` once.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from docpipe.stackfile import flat_from_stack_file
from infra.offline import OfflineRunner, RecordingMonitor
from policies.offline import stack_resources
from policies.runner import StackResource

ROOT_DIR = Path(__file__).resolve().parents[2]
PACK_DIR = ROOT_DIR / "policies"
LEVELS = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}
LEVEL_NAMES = {v: k for k, v in LEVELS.items()}


@dataclass(frozen=True)
class Diagnostic:
    policy: str
    enforcement: str
    message: str  # without the policy description the server puts in front
    urn: str


def _struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(dict(value))
    return s


@contextmanager
def running_pack(start_timeout: float = 60.0) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """Start the pack as the CLI does, yield an analyzer client, and stop the process afterwards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pulumi.policy", "127.0.0.1:1", str(PACK_DIR)],
        cwd=PACK_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    channel: grpc.Channel | None = None
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], start_timeout)
        line = proc.stdout.readline().decode().strip() if ready else ""
        if not line.isdigit():
            proc.kill()
            _, err = proc.communicate(timeout=10)
            raise RuntimeError(
                f"policy pack did not print its port (got {line!r}); stderr:\n{err.decode()[-2000:]}"
            )
        channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        grpc.channel_ready_future(channel).result(timeout=start_timeout)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        if channel is not None:
            channel.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def configure(
    stub: analyzer_pb2_grpc.AnalyzerStub, file_config: Mapping[str, Any]
) -> analyzer_pb2.AnalyzerInfo:
    """Configure every policy from a policy config file, defaults from the pack's schemas filled in."""
    info: analyzer_pb2.AnalyzerInfo = stub.GetAnalyzerInfo(empty_pb2.Empty())
    everyone = file_config.get("all")
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for policy in info.policies:
        schema = json_format.MessageToDict(policy.configSchema.properties)
        properties = {k: spec["default"] for k, spec in schema.items() if "default" in spec}
        level = policy.enforcementLevel
        if isinstance(everyone, str):
            level = LEVELS[everyone]
        entry = file_config.get(policy.name)
        if isinstance(entry, str):
            level = LEVELS[entry]
        elif isinstance(entry, Mapping):
            level = LEVELS[entry["enforcementLevel"]] if "enforcementLevel" in entry else level
            properties.update({k: v for k, v in entry.items() if k != "enforcementLevel"})
        request.policyConfig[policy.name].CopyFrom(
            analyzer_pb2.PolicyConfig(enforcementLevel=level, properties=_struct(properties))
        )
    stub.Configure(request)
    return info


def _diagnostics(response: analyzer_pb2.AnalyzeResponse, descriptions: Mapping[str, str]) -> list[Diagnostic]:
    out = []
    for d in response.diagnostics:
        prefix = descriptions.get(d.policyName, "") + "\n"
        message = d.message[len(prefix) :] if d.message.startswith(prefix) else d.message
        out.append(Diagnostic(d.policyName, LEVEL_NAMES[d.enforcementLevel], message, d.urn))
    return out


def analyze(
    stub: analyzer_pb2_grpc.AnalyzerStub,
    info: analyzer_pb2.AnalyzerInfo,
    resources: Sequence[StackResource],
    outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Diagnostic]:
    """`Analyze` for each resource (its inputs), then `AnalyzeStack` once with each resource's outputs
    (as the engine sends them; a resource's inputs when `outputs` lacks it). Every diagnostic returned.
    """
    outputs = outputs or {}
    descriptions = {p.name: p.description for p in info.policies}
    found: list[Diagnostic] = []
    for r in resources:
        request = analyzer_pb2.AnalyzeRequest(
            type=r.type,
            properties=_struct(r.inputs),
            urn=r.urn,
            name=r.name,
            options=analyzer_pb2.AnalyzerResourceOptions(parent=r.parent or ""),
        )
        for d in _diagnostics(stub.Analyze(request), descriptions):
            found.append(d if d.urn else Diagnostic(d.policy, d.enforcement, d.message, r.urn))
    stack_request = analyzer_pb2.AnalyzeStackRequest(
        resources=[
            analyzer_pb2.AnalyzerResource(
                type=r.type,
                properties=_struct(outputs.get(r.urn, r.inputs)),
                urn=r.urn,
                name=r.name,
                parent=r.parent or "",
                dependencies=list(r.dependencies),
                propertyDependencies={
                    k: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(v))
                    for k, v in r.property_dependencies.items()
                },
            )
            for r in resources
        ]
    )
    found.extend(_diagnostics(stub.AnalyzeStack(stack_request), descriptions))
    return found


class _EngineMonitor(RecordingMonitor):
    """Also keeps what the engine would hold as each resource's outputs: the provider's state for a
    custom resource, the registered outputs (`register_outputs`) for a component."""

    def __init__(self, mocks: Any) -> None:
        super().__init__(mocks)
        self.outputs: dict[str, dict[str, Any]] = {}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.custom:
            self.outputs[response.urn] = json_format.MessageToDict(response.object)
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self.outputs[request.urn] = json_format.MessageToDict(request.outputs)
        return super().RegisterResourceOutputs(request)


def engine_run(stack: str, *overrides: str) -> tuple[list[StackResource], dict[str, dict[str, Any]]]:
    """A mocks run of the stack: each resource with its inputs, and the outputs the engine would hold."""
    flat = flat_from_stack_file(ROOT_DIR, stack, overrides, placeholder_secrets=True)
    runner = OfflineRunner(flat, stack)
    monitor = _EngineMonitor(runner.mocks)
    runner.monitor = monitor
    result = runner.run()
    return stack_resources(result.resources), dict(monitor.outputs)
