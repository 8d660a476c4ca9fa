"""Run the Pulumi program in-process under mocks and record what it declares.

Used by `docpipe plan`, the tests, the benchmark and (later) the policy pack: no Pulumi CLI, no
provider plugins, no cloud credentials. `run_offline(flat, stack)` runs `infra/__main__.py` exactly
as `pulumi up` would (same config keys, same secret keys) against a recording mock monitor and
returns every registered resource — type, name, inputs (camelCase, as the engine sees them), parent
and dependencies — plus the resolved stack outputs and the PlacementPlan.

The harness fails loudly on two mistakes the plain mocks let through: two resources with the same
type and name (the plain MockMonitor silently keeps one), and an input holding the text that
`f"{output}"` produces instead of a value.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import runpy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
from google.protobuf.json_format import MessageToDict
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from docpipe.plan import PlacementPlan, build_plan
from docpipe.stackfile import FlatConfig, config_from_flat
from workers.process import paused_gc

PROJECT = "docpipe"
MAIN = Path(__file__).resolve().parent / "__main__.py"
STACK_TYPE = "pulumi:pulumi:Stack"
# How the engine marks values in serialized properties.
SECRET_SIG = "4dabf18193072939515e22adb298388d"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
OUTPUT_STR_TEXT = "Calling __str__ on an Output"
MOCK_ACCOUNT = "123456789012"


class OfflineError(RuntimeError):
    """The program declared something the harness refuses (duplicate name, stringified Output)."""


@dataclass(frozen=True)
class Registered:
    """One resource as the engine would receive it."""

    type: str
    name: str
    urn: str
    custom: bool
    parent: str
    inputs: dict[str, Any]
    dependencies: tuple[str, ...]
    retain_on_delete: bool = False  # the `retain_on_delete` resource option (kept on destroy)

    @property
    def key(self) -> tuple[str, str]:
        """Identity across runs: what `pulumi preview` compares (with the parent chain)."""
        return (self.type, self.name)


@dataclass
class OfflineResult:
    """Everything one offline run declared."""

    stack: str
    plan: PlacementPlan
    resources: list[Registered]
    outputs: dict[str, Any]
    secret_outputs: frozenset[str] = frozenset()
    _by_urn: dict[str, Registered] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_urn = {r.urn: r for r in self.resources}

    def __iter__(self) -> Iterator[Registered]:
        return iter(self.resources)

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> Registered:
        found = [r for r in self.resources if r.name == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} resources named {name!r}")
        return found[0]

    def keys(self) -> set[tuple[str, str]]:
        return {r.key for r in self.resources}

    def parent_of(self, res: Registered) -> Registered | None:
        return self._by_urn.get(res.parent)

    def top_component(self, res: Registered) -> Registered | None:
        """The outermost component above `res` (itself if it is a top-level component)."""
        node: Registered | None = res
        top: Registered | None = None
        while node is not None:
            if not node.custom:
                top = node
            node = self._by_urn.get(node.parent)
        return top

    def ancestors(self, res: Registered) -> list[Registered]:
        chain: list[Registered] = []
        node = self._by_urn.get(res.parent)
        while node is not None:
            chain.append(node)
            node = self._by_urn.get(node.parent)
        return chain


class DocpipeMocks(pulumi_mocks.Mocks):
    """Plausible provider outputs, so the program's Output plumbing runs end to end."""

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        name = args.name
        state = dict(args.inputs)
        typ = args.typ
        if typ.startswith("aws:"):
            service = typ.split(":")[1].split("/")[0]
            state.setdefault("arn", f"arn:aws:{service}:us-east-1:{MOCK_ACCOUNT}:{name}")
        extra: dict[str, Any] = {}
        if typ == "aws:iam/role:Role":
            extra = {"arn": f"arn:aws:iam::{MOCK_ACCOUNT}:role/{name}", "name": name}
        elif typ == "aws:lambda/function:Function":
            extra = {
                "arn": f"arn:aws:lambda:us-east-1:{MOCK_ACCOUNT}:function:{name}",
                "qualifiedArn": f"arn:aws:lambda:us-east-1:{MOCK_ACCOUNT}:function:{name}:1",
                "name": name,
                "version": "1",
            }
        elif typ == "aws:rds/instance:Instance":
            extra = {
                "address": f"{name}.abc.us-east-1.rds.amazonaws.com",
                "port": 5432,
                "masterUserSecrets": [
                    {"secretArn": f"arn:aws:secretsmanager:us-east-1:{MOCK_ACCOUNT}:secret:rds!{name}"}
                ],
            }
        elif typ == "aws:ecr/repository:Repository":
            extra = {"repositoryUrl": f"{MOCK_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{name}"}
        elif typ == "aws:elasticache/serverlessCache:ServerlessCache":
            extra = {"endpoints": [{"address": f"{name}.serverless.use1.cache.amazonaws.com", "port": 6379}]}
        elif typ == "aws:elasticache/replicationGroup:ReplicationGroup":
            extra = {"primaryEndpointAddress": f"master.{name}.use1.cache.amazonaws.com", "port": 6379}
        elif typ == "aws:ec2/instance:Instance":
            extra = {"privateIp": "10.0.10.10"}
        elif typ == "aws:ec2/launchTemplate:LaunchTemplate":
            # AWS numbers each new template content as a new version; a number derived from the
            # content stands in for it, so whatever follows `latest_version` changes with the content.
            content = json.dumps(
                {k: v for k, v in state.items() if k not in {"tags", "name"}}, sort_keys=True
            )
            extra = {"latestVersion": 1 + int(hashlib.sha256(content.encode()).hexdigest()[:6], 16)}
        elif typ == "aws:s3/bucket:Bucket":
            extra = {"bucket": name, "arn": f"arn:aws:s3:::{name}"}
        elif typ == "aws:secretsmanager/secret:Secret":
            extra = {"arn": f"arn:aws:secretsmanager:us-east-1:{MOCK_ACCOUNT}:secret:{name}"}
        elif typ == "temporalcloud:index/namespace:Namespace":
            extra = {"endpoints": {"grpcAddress": f"{state.get('name', name)}.acct.tmprl.cloud:7233"}}
        elif typ == "temporalcloud:index/apikey:Apikey":
            extra = {"token": "mock-temporal-api-key-token"}
        elif typ == "gcp:serviceaccount/account:Account":
            account = state.get("accountId", name)
            extra = {
                "email": f"{account}@mock-project.iam.gserviceaccount.com",
                "uniqueId": "100000000000000000001",
                "member": f"serviceAccount:{account}@mock-project.iam.gserviceaccount.com",
            }
        elif typ == "gcp:secretmanager/secret:Secret":
            extra = {"name": f"projects/mock-project/secrets/{state.get('secretId', name)}"}
        elif typ == "gcp:artifactregistry/repository:Repository":
            extra = {"name": state.get("repositoryId", name)}
        elif typ == "docker:index/image:Image":
            extra = {"repoDigest": f"{state.get('imageName', name)}@sha256:{'0' * 64}"}
        elif typ == "docker:index/registryImage:RegistryImage":
            extra = {"sha256Digest": f"sha256:{'1' * 64}"}
        elif typ == "gcp:cloudrunv2/service:Service":
            extra = {"uri": f"https://{state.get('name', name)}-mock.a.run.app"}
        elif typ == "gcp:parametermanager/parameter:Parameter":
            extra = {
                "name": f"projects/mock-project/locations/global/parameters/{state.get('parameterId', name)}"
            }
        elif typ == "gcp:parametermanager/parameterVersion:ParameterVersion":
            extra = {"name": f"{state.get('parameter', '')}/versions/{state.get('parameterVersionId', name)}"}
        elif typ == "random:index/randomId:RandomId":
            digest = hashlib.sha256(name.encode()).hexdigest()[: 2 * int(state.get("byteLength", 4))]
            extra = {"hex": digest, "dec": str(int(digest, 16)), "id": digest}
        elif typ.startswith("random:"):
            extra = {"result": f"mock-random-{name}"}
        state.update(extra)
        return f"{name}-id", state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
                "userName": "AWS",
                "password": "mock-ecr-password",
                "proxyEndpoint": f"https://{MOCK_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com",
                "authorizationToken": "mock",
            }, []
        if args.token == "gcp:organizations/getClientConfig:getClientConfig":
            return {"accessToken": "mock-gcp-token", "project": "mock-project"}, []
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": MOCK_ACCOUNT, "arn": f"arn:aws:iam::{MOCK_ACCOUNT}:root"}, []
        return {}, []


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that keeps each registration request (inputs via MessageToDict)."""

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.records: list[Registered] = []
        self.problems: list[str] = []
        self._seen: set[tuple[str, str]] = set()

    def RegisterResource(self, request: Any) -> Any:
        if request.type != STACK_TYPE:
            inputs = MessageToDict(request.object, preserving_proto_field_name=True)
            urn = self.make_urn(request.parent, request.type, request.name)
            key = (request.type, request.name)
            if key in self._seen:
                self.problems.append(f"duplicate resource {request.type} {request.name!r}")
            self._seen.add(key)
            for path in _output_str_paths(inputs):
                self.problems.append(
                    f"{request.type} {request.name!r}: input {path} holds a stringified Output "
                    "(use Output.concat/format/apply)"
                )
            self.records.append(
                Registered(
                    type=request.type,
                    name=request.name,
                    urn=urn,
                    custom=bool(request.custom),
                    parent=request.parent,
                    inputs=inputs,
                    dependencies=tuple(request.dependencies),
                    retain_on_delete=bool(request.retainOnDelete),
                )
            )
        return super().RegisterResource(request)


def _output_str_paths(value: Any, path: str = "") -> Iterator[str]:
    if isinstance(value, str):
        if OUTPUT_STR_TEXT in value:
            yield path or "."
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _output_str_paths(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _output_str_paths(v, f"{path}[{i}]")


def unwrap(value: Any) -> Any:
    """Recorded inputs with secret wrappers replaced by their values (for assertions only)."""
    if isinstance(value, Mapping):
        if value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
            return unwrap(value.get("value"))
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def masked(value: Any) -> Any:
    """Recorded inputs as `pulumi preview --json` shows them: every secret value is "[secret]"."""
    if isinstance(value, Mapping):
        if value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
            return "[secret]"
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def plain_strings(value: Any) -> Iterator[str]:
    """Every string in recorded inputs that is NOT inside a secret wrapper."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        if value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
            return
        for k, v in value.items():
            yield k
            yield from plain_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from plain_strings(v)


def _ensure_event_loop() -> None:
    """set_mocks needs a current loop; an earlier `asyncio.run()` in this thread leaves none."""
    try:
        asyncio.get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())


class _SdkFreeze:
    # A flag, not gc.get_freeze_count(): that walks the whole permanent generation (0.2 s here).
    done = False


class OfflineRunner:
    """One offline run of the program; keeps the monitor so callers can inspect a failed run."""

    def __init__(self, flat: FlatConfig, stack: str) -> None:
        self.flat = flat
        self.stack = stack
        self.mocks = DocpipeMocks()
        self.monitor = RecordingMonitor(self.mocks)

    @property
    def resources(self) -> list[Registered]:
        return list(self.monitor.records)

    def run(self) -> OfflineResult:
        with paused_gc():
            result = self._run()
        if not _SdkFreeze.done:
            # The provider SDKs are imported by now (the first run imports them): move them and
            # everything else alive out of the collector's sight, so later full collections in a
            # long-lived caller (the tests) do not walk them again. Once per process, so at most
            # one run's cycles stay unfreed.
            gc.freeze()
            _SdkFreeze.done = True
        return result

    def _run(self) -> OfflineResult:
        _ensure_event_loop()
        pulumi_settings.ROOT.set(None)
        pulumi.runtime.set_mocks(
            self.mocks, project=PROJECT, stack=self.stack, preview=False, monitor=self.monitor
        )
        pulumi.runtime.set_all_config(dict(self.flat.values), sorted(self.flat.secret_keys))
        pulumi_settings.SETTINGS.rpc_manager.clear()
        pulumi_settings.SETTINGS.outputs.clear()
        resolved: dict[str, Any] = {}
        secret_names: set[str] = set()

        def program() -> None:
            runpy.run_path(str(MAIN), run_name="__main__")
            root = pulumi_settings.get_root_resource()
            exported: dict[str, Any] = dict(getattr(root, "outputs", {}) or {})
            for name, value in exported.items():
                out = pulumi.Output.from_input(value)
                if _sync_await(out.is_secret()):
                    secret_names.add(name)
                resolved[name] = _sync_await(out.future())

        _sync_await(run_pulumi_func(program))
        if self.monitor.problems:
            raise OfflineError("; ".join(self.monitor.problems))
        config = config_from_flat(self.stack, self.flat)
        return OfflineResult(
            stack=self.stack,
            plan=build_plan(config),
            resources=self.resources,
            outputs=resolved,
            secret_outputs=frozenset(secret_names),
        )


def run_offline(flat: FlatConfig, stack: str) -> OfflineResult:
    """Run the program for `stack` with engine-style `flat` config; see the module docstring."""
    return OfflineRunner(flat, stack).run()
