"""Run one declared identity's real worker code paths on moto (IAM on) with only its credentials.

`World` holds the session's services: moto with IAM enforced (`moto_iam_server`), the
web-identity STS front and a GCP metadata server (Cloud Run roles), the Temporal dev server (the
starter), the document bucket (named as the program names it, so S3 ARNs in the declared policy are
the real ones moto matches) and one moto secret per declared secret ARN.

`World.prove(identity)`:

1. creates the role in moto with the declared trust policy and the declared policy. Two changes,
   both because of what moto can evaluate (tests/aws_emulator.py): non-S3 `Resource`s are widened to
   "*" in moto's copy (moto matches them against "*" only — the evaluator checks the real ARNs), and
   a role trusting an AWS *service* (lambda / ec2) also trusts the test's admin user, standing in for
   the service, which moto cannot be. Cloud Run roles keep their trust policy verbatim: the STS front
   evaluates it for a Google ID token from the metadata server;
2. obtains credentials (sts:AssumeRole, or AssumeRoleWithWebIdentity through workers.aws exactly as a
   Cloud Run worker does) and puts only those in the process environment;
3. runs the code paths the identity's own environment switches on — the functions the workers call:
   `resolve_secret_refs` (DOCPIPE_SECRET_REFS), `read_document` (extraction), the payload converter's S3
   driver (every worker with DOCPIPE_BUCKET), `storage.connection.conninfo` (the RDS master secret),
   `StrandsAnalyser` on `build_model` (strands on Bedrock: the Bedrock answer is scripted, the call is
   recorded), and for the starter `workers.starter.handler` on an S3 ObjectCreated event as S3 sends
   it, starting the workflow on the dev server;
4. records every boto3 call (tests/iam/recorder.py) and checks each against the declared statements
   with the real ARNs (tests/iam/evaluator.py) and against the code-path table.

A denial by moto or by the evaluator becomes a problem line naming the identity, the action, the
resource and the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.aws_emulator import ACCOUNT_ID, MotoEndpoint, WebIdentitySts
from tests.iam.declared import Identity
from tests.iam.evaluator import check_call
from tests.iam.recorder import Call, Recording, bedrock_analysis, recording
from workers.aws_actions import calls_of, paths_for
from workers.contract import Env

REGION = "us-east-1"
ADMIN_ARN = f"arn:aws:iam::{ACCOUNT_ID}:user/moto-admin"
SECRET_VALUES = {
    "temporalApiKey": "temporal-api-key-not-real",
    "unstructuredApiKey": "unstructured-key-not-real",
    "e2bApiKey": "e2b-key-not-real",
    "anthropicApiKey": "anthropic-key-not-real",
    "openaiApiKey": "openai-key-not-real",
    "valkeyAuth": "valkey-auth-not-real",
}
ANALYSIS = {
    "document_type": "report",
    "summary": "Revenue grew.",
    "key_entities": [],
    "needs_enrichment": False,
}
# Variables the process must not inherit: a worker has only the credentials its role gives it.
_AWS_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_SESSION_NAME",
    "AWS_ENDPOINT_URL_STS",
    "GCE_METADATA_HOST",
    Env.AWS_WEB_IDENTITY_AUDIENCE,
    Env.AWS_SESSION_SECONDS,
)


@dataclass
class Proof:
    identity: str  # "<variant>/<key>"
    steps: dict[str, str] = field(default_factory=dict)  # step → "ok" or the error
    calls: list[Call] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def observed_actions(self) -> set[str]:
        from tests.iam.evaluator import iam_action

        return {iam_action(c.service, c.operation) for c in self.calls}

    def pairs(self) -> set[tuple[str, str]]:
        """(identity, call) pairs proven: distinct operations on distinct resource kinds it made."""
        return {(self.identity, c.brief()) for c in self.calls}


def moto_policy(policy: dict[str, Any]) -> dict[str, Any]:
    """The declared policy as moto can evaluate it: non-S3 resources widened to "*"."""
    out = copy.deepcopy(policy)
    for st in out.get("Statement", []):
        resources = st.get("Resource", [])
        resources = resources if isinstance(resources, list) else [resources]
        if any(not str(r).startswith("arn:aws:s3:::") for r in resources):
            st["Resource"] = "*"
    return out


def moto_trust(trust: dict[str, Any]) -> dict[str, Any]:
    """moto's copy of a trust policy: a role trusting an AWS *service* trusts the admin instead.

    moto cannot be the service, and fails (HTTP 500) evaluating a `Principal.Service` statement in
    AssumeRole; the declared service statement is checked structurally (test_trust_policies).
    """
    statements = trust.get("Statement", [])
    if not any("Service" in (st.get("Principal") or {}) for st in statements):
        return trust
    admin = {"Effect": "Allow", "Principal": {"AWS": ADMIN_ARN}, "Action": "sts:AssumeRole"}
    return {"Version": "2012-10-17", "Statement": [admin]}


def backend_label(identity: Identity) -> str | None:
    env = identity.env
    if identity.role == "analysis":
        kind = env.get(Env.ANALYSIS_BACKEND, "heuristic")
        return kind if kind == "heuristic" else f"strands/{env.get(Env.MODEL_PROVIDER)}"
    if identity.role == "extraction":
        return env.get(Env.EXTRACTION_BACKEND)
    return None


def secret_refs(env: dict[str, str]) -> dict[str, str]:
    refs = json.loads(env.get(Env.SECRET_REFS) or "{}")
    return {k: str(v) for k, v in refs.items() if str(v).startswith("arn:aws:secretsmanager:")}


def table_paths(identity: Identity) -> tuple[Any, ...]:
    return paths_for(
        identity.role,
        target=identity.target,
        backend=backend_label(identity),
        secret_refs=bool(secret_refs(identity.env)),
        vpc_attached=identity.vpc_attached,
    )


class World:
    def __init__(self, moto: MotoEndpoint, sts: WebIdentitySts, metadata: Any, temporal_address: str) -> None:
        self.moto, self.sts, self.metadata, self.temporal = moto, sts, metadata, temporal_address
        self.secrets: dict[str, str] = {}  # declared ARN → moto ARN
        self.declared: dict[str, str] = {}  # moto ARN → declared ARN
        self.buckets: set[str] = set()
        self._proofs: dict[str, Proof] = {}
        self.bucket_fixture: dict[str, bytes] = {}

    # --- resources ---------------------------------------------------------------------------

    def bucket(self, name: str) -> None:
        if name in self.buckets:
            return
        s3 = self.moto.client("s3")
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(Bucket=name)
        self.buckets.add(name)

    def secret(self, declared_arn: str, value: str) -> str:
        if declared_arn not in self.secrets:
            name = f"iam-{uuid.uuid4().hex[:10]}"
            arn = self.moto.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]
            self.secrets[declared_arn] = arn
            self.declared[arn] = declared_arn
        return self.secrets[declared_arn]

    def translate(self, env: dict[str, str]) -> dict[str, str]:
        """The declared env with declared secret ARNs replaced by their moto copies."""
        out = dict(env)
        refs = json.loads(env.get(Env.SECRET_REFS) or "{}")
        for name, arn in refs.items():
            if str(arn).startswith("arn:aws:secretsmanager:"):
                refs[name] = self.secret(str(arn), SECRET_VALUES.get(name, "not-real"))
        out[Env.SECRET_REFS] = json.dumps(refs)
        if env.get(Env.DATABASE_SECRET_ARN):
            value = json.dumps({"username": "docpipe", "password": "db-password-not-real", "port": 5432})
            out[Env.DATABASE_SECRET_ARN] = self.secret(env[Env.DATABASE_SECRET_ARN], value)
        return out

    # --- credentials -------------------------------------------------------------------------

    @contextlib.contextmanager
    def credentials(self, identity: Identity, env: dict[str, str], name: str) -> Iterator[None]:
        iam = self.moto.client("iam")
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(moto_trust(identity.trust)))[
            "Role"
        ]["Arn"]
        iam.put_role_policy(
            RoleName=name,
            PolicyName=f"{name}-policy",
            PolicyDocument=json.dumps(moto_policy(identity.policy)),
        )
        extra = {
            "AWS_ENDPOINT_URL": self.moto.url,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            Env.ROLE: identity.role,
        }
        if identity.target == "cloudrun":
            extra |= {
                "AWS_ROLE_ARN": arn,
                "AWS_ENDPOINT_URL_STS": self.sts.url,
                "GCE_METADATA_HOST": self.metadata.host,
            }
            if env.get(Env.AWS_WEB_IDENTITY_AUDIENCE):  # missing: workers.aws names it, the step fails
                extra[Env.AWS_WEB_IDENTITY_AUDIENCE] = env[Env.AWS_WEB_IDENTITY_AUDIENCE]
        else:
            creds = self.moto.client("sts").assume_role(RoleArn=arn, RoleSessionName="docpipe-iam")[
                "Credentials"
            ]
            extra |= {
                "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
                "AWS_SESSION_TOKEN": creds["SessionToken"],
            }
        with _environ(extra):
            yield

    # --- the proof ---------------------------------------------------------------------------

    def prove(self, variant: str, identity: Identity) -> Proof:
        signature = json.dumps(
            [identity.role, identity.target, identity.trust, identity.policy, sorted(identity.env.items())],
            sort_keys=True,
        )
        key = hashlib.sha256(signature.encode()).hexdigest()
        if key not in self._proofs:
            self._proofs[key] = self._prove(f"{variant}/{identity.key}", identity)
        return self._proofs[key]

    def _prove(self, label: str, identity: Identity) -> Proof:
        proof = Proof(label)
        env = self.translate(identity.env)
        bucket = env.get(Env.BUCKET)
        if bucket:
            self.bucket(bucket)
        name = f"dp-iam-{uuid.uuid4().hex[:12]}"
        responders = {"bedrock-runtime": bedrock_analysis(ANALYSIS)}
        with self.credentials(identity, env, name), recording(responders) as rec:
            for step, run in self._steps(identity, env):
                try:
                    run()
                    proof.steps[step] = "ok"
                except Exception as err:  # the problem is named below, from the recorded call
                    proof.steps[step] = f"{type(err).__name__}: {err}"[:300]
        # The test's own setup calls (the admin putting the upload in place) are not the role's.
        rec.calls = [c for c in rec.calls if c.access_key != self.moto.access_key[0]]
        for call in rec.calls:  # name secrets as the program does (the moto copy's ARN differs)
            if "SecretId" in call.params:
                call.params["SecretId"] = self.declared.get(
                    str(call.params["SecretId"]), call.params["SecretId"]
                )
        proof.calls = rec.aws_calls()
        proof.problems = self._judge(label, identity, rec, proof)
        return proof

    def _judge(self, label: str, identity: Identity, rec: Recording, proof: Proof) -> list[str]:
        problems = []
        paths = table_paths(identity)
        for call in rec.aws_calls():
            problems += evaluate(label, identity.statements, call)
            if call.status == 403 or (call.error or "") in ("AccessDenied", "AccessDeniedException", "403"):
                problems.append(f"{label}: moto denied {call.brief()} ({call.error or call.status})")
            if not calls_of(paths, call.service, call.operation):
                problems.append(
                    f"{label}: {call.brief()} is not in the code-path table for this role "
                    f"(paths: {', '.join(p.name for p in paths)}) — add it to workers/aws_actions.py"
                )
        for step, outcome in proof.steps.items():
            if outcome != "ok":
                problems.append(f"{label}: step {step} failed: {outcome}")
        return problems

    def _steps(self, identity: Identity, env: dict[str, str]) -> list[tuple[str, Any]]:
        if identity.kind == "starter":
            return [("starter", lambda: self._starter(env))]
        steps: list[tuple[str, Any]] = []
        if secret_refs(env):
            steps.append(("secrets", lambda: _secrets(env)))
        if identity.role == "extraction" and env.get(Env.BUCKET):
            steps.append(("document", lambda: self._document(env[Env.BUCKET])))
        if env.get(Env.BUCKET):
            steps.append(("payload", lambda: _payload(env)))
        if env.get(Env.DATABASE_SECRET_ARN):
            steps.append(("database", lambda: _database(env)))
        if env.get(Env.ANALYSIS_BACKEND) == "strands" and env.get(Env.MODEL_PROVIDER) == "bedrock":
            steps.append(("bedrock", lambda: _bedrock(env)))
        return steps

    def _document(self, bucket: str) -> None:
        from workers.documents import read_document
        from workers.types import DocumentRef

        data = f"# Report {uuid.uuid4().hex}\n\nRevenue grew.\n".encode()
        sha = hashlib.sha256(data).hexdigest()
        key = f"uploads/{sha}/report.md"
        self.moto.client("s3").put_object(Bucket=bucket, Key=key, Body=data)
        ref = DocumentRef(
            uri=f"s3://{bucket}/{key}",
            sha256=sha,
            filename="report.md",
            content_type="text/markdown",
            size=len(data),
        )
        assert asyncio.run(read_document(ref)) == data

    def _starter(self, env: dict[str, str]) -> None:
        from workers.contract import workflow_id

        bucket = env[Env.BUCKET]
        data = f"# Upload {uuid.uuid4().hex}\n".encode()
        key = "incoming/Quarterly report.md"
        put = self.moto.client("s3").put_object(Bucket=bucket, Key=key, Body=data)
        event = s3_event(bucket, key, len(data), put["ETag"].strip('"'), put.get("VersionId"))
        local = env | {
            "TEMPORAL_ADDRESS": self.temporal,
            "TEMPORAL_NAMESPACE": "default",
            "TEMPORAL_TLS": "false",
            Env.QUEUE_PREFIX: f"iam{uuid.uuid4().hex[:6]}",
        }
        with _environ(local, clear_aws=False):
            from workers.starter import handler

            out = handler(event, None)
        wid = workflow_id(hashlib.sha256(data).hexdigest())
        assert out["started"] == 1 and out["results"][0]["workflowId"] == wid, out
        asyncio.run(_check_and_terminate(self.temporal, wid))


def evaluate(label: str, statements: list[dict[str, Any]], call: Call) -> list[str]:
    """The evaluator's verdicts on one recorded call (problems naming identity, action, resource)."""
    return [
        f"{label}: the declared policy does not allow {v.action} on {v.resource}, which {call.brief()} needs"
        for v in check_call(statements, call.service, call.operation, call.params, REGION, ACCOUNT_ID)
        if not v.allowed
    ]


def grant_problems(label: str, identity: Identity, observed: set[str]) -> list[str]:
    """Grants that differ from the table, and worker grants no recorded call used."""
    paths = table_paths(identity)
    table = {a for p in paths for a in p.actions()}
    granted = identity.granted_actions()
    problems = [
        f"{label}: grants {a}, which no code path of this role in the table calls"
        for a in sorted(granted - table)
    ]
    problems += [
        f"{label}: the table says this role calls {a}, and its policy does not grant it"
        for a in sorted(table - granted)
    ]
    excused = {c.action for p in paths for c in p.calls if p.kind == "platform" or c.unobserved_reason}
    problems += [
        f"{label}: grants {a}, and none of this role's worker code paths called it under the declared policy"
        for a in sorted(granted - observed - excused)
    ]
    return problems


def s3_event(bucket: str, key: str, size: int, etag: str, version: str | None) -> dict[str, Any]:
    """An S3 ObjectCreated:Put notification, as S3 sends it (event version 2.1, key URL-encoded)."""
    from urllib.parse import quote_plus

    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": "2026-12-01T12:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
                "requestParameters": {"sourceIPAddress": "203.0.113.7"},
                "responseElements": {
                    "x-amz-request-id": "C3D13FE58DE4C810",
                    "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "starter-notification",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": quote_plus(key, safe="/"),
                        "size": size,
                        "eTag": etag,
                        **({"versionId": version} if version else {}),
                        "sequencer": "0055AED6DCD90281E5",
                    },
                },
            }
        ]
    }


async def _check_and_terminate(address: str, wid: str) -> None:
    from temporalio.client import Client, WorkflowExecutionStatus

    client = await Client.connect(address)
    handle = client.get_workflow_handle(wid)
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    await handle.terminate(reason="tests/iam: started by the starter, no worker runs it")


def _secrets(env: dict[str, str]) -> None:
    from workers.secrets import resolve_secret_refs

    local = {k: v for k, v in env.items() if not k.endswith("_API_KEY") and k != Env.VALKEY_PASSWORD}
    done = resolve_secret_refs(local)
    refs = secret_refs(env)
    assert len(done) == len(refs), (done, refs)


def _payload(env: dict[str, str]) -> None:
    from workers.payloads import data_converter
    from workers.settings import Settings

    settings = Settings.from_env(env | {Env.PAYLOAD_THRESHOLD_BYTES: "1000"})
    converter = data_converter(settings)

    async def round_trip() -> None:
        value = {"elements": [uuid.uuid4().hex * 2] * 200}  # ~13 kB: over the threshold, unique content
        payloads = await converter.encode([value])
        assert payloads[0].ByteSize() < 1000  # a claim in history, the payload in the bucket
        assert (await converter.decode(payloads, [dict]))[0] == value

    asyncio.run(round_trip())


def _database(env: dict[str, str]) -> None:
    from workers.settings import Settings
    from workers.storage.connection import conninfo

    info = asyncio.run(conninfo(Settings.from_env(env)))
    assert "user=docpipe" in info and env[Env.DATABASE_HOST] in info


def _bedrock(env: dict[str, str]) -> None:
    from workers.analysis.strands_agent import StrandsAnalyser
    from workers.settings import Settings
    from workers.types import DocumentRef

    settings = Settings.from_env(env)
    ref = DocumentRef(uri="s3://b/k", sha256="0" * 64, filename="r.md", content_type="text/markdown", size=1)
    out = asyncio.run(StrandsAnalyser(settings).analyse(ref, [{"type": "Title", "text": "Quarterly report"}]))
    assert out.summary == ANALYSIS["summary"]


@contextlib.contextmanager
def _environ(values: dict[str, str], clear_aws: bool = True) -> Iterator[None]:
    """os.environ with `values` set and AWS credential variables cleared; boto3's default session
    is reset on the way in and out, so no credentials resolved before survive."""
    import boto3

    saved = dict(os.environ)
    for name in (*_AWS_VARS, "TEMPORAL_API_KEY") if clear_aws else ("TEMPORAL_API_KEY",):
        os.environ.pop(name, None)
    os.environ.update(values)
    boto3.DEFAULT_SESSION = None
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        boto3.DEFAULT_SESSION = None
