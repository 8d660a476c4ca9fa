"""Cloud Run's way to AWS, for real: Google ID token from the metadata server → STS → role credentials.

A worker process (a child Python process with no AWS keys, no AWS config files and no EC2 metadata,
`tests/workers/web_identity_probe.py`) runs the workers' own AWS code paths — document read,
payload offload through temporalio's S3 driver, DOCPIPE_SECRET_REFS — with only `AWS_ROLE_ARN`, the
audience and `GCE_METADATA_HOST`, as a Cloud Run worker pool has them. It talks to:

- `GcpMetadataServer` (tests/workers/gcp_metadata_server.py), speaking the metadata protocol;
- moto with IAM checks **on** (`moto_iam_server`): the role's policy is enforced on every S3 and
  Secrets Manager call, signatures and session tokens are checked, so a success means the call was
  signed with the credentials STS issued for that role;
- `WebIdentitySts` (tests/aws_emulator.py) for AssumeRoleWithWebIdentity, because **moto does not
  check the trust policy, nor even the token**, for that call (and fails on it with IAM on). The front
  checks the token's signature, `iss` and `exp`, and the role's trust policy — the program's,
  Federated accounts.google.com with StringEquals on accounts.google.com:aud/sub — as AWS does.

The role's Secrets Manager grant says `"Resource": "*"`: moto evaluates non-S3 resources against
"*", so an ARN-scoped grant is denied there though AWS would allow it (see tests/aws_emulator.py).
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from gcp_metadata_server import GcpMetadataServer

from tests.aws_emulator import (
    ACCOUNT_ID,
    ROOT,
    MotoEndpoint,
    Role,
    WebIdentitySts,
    create_role,
    google_trust_policy,
    unique,
)
from workers import aws
from workers.contract import Env

PROBE = Path(__file__).with_name("web_identity_probe.py")
UNIQUE_ID = "100000000000000000001"  # the Cloud Run service account's unique id (azp, sub)
DOCUMENT = b"# Quarterly report\n\nRevenue grew.\n"
SECRET_VALUE = "unstructured-key-not-a-real-one"


@dataclass(frozen=True)
class Aws:
    moto: MotoEndpoint
    role: Role
    bucket: str
    document_uri: str
    secret_arn: str


@pytest.fixture(scope="module")
def world(moto_iam_server: MotoEndpoint) -> Aws:
    """A bucket with a document, a secret, and the extraction role Cloud Run's workers assume."""
    moto = moto_iam_server
    bucket = unique("docpipe-docs")
    s3 = moto.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="uploads/report.md", Body=DOCUMENT)
    secret_arn = moto.client("secretsmanager").create_secret(
        Name=unique("docpipe/unstructured"), SecretString=json.dumps({"apiKey": SECRET_VALUE})
    )["ARN"]
    role = create_role(
        moto,
        unique("docpipe-extraction"),
        google_trust_policy(UNIQUE_ID),
        [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"arn:aws:s3:::{bucket}/*",
            },
            # "*": moto matches every non-S3 resource against "*" (module docstring).
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
        ],
    )
    return Aws(moto, role, bucket, f"s3://{bucket}/uploads/report.md", secret_arn)


@pytest.fixture
def metadata() -> Iterator[GcpMetadataServer]:
    with GcpMetadataServer(unique_id=UNIQUE_ID) as server:
        yield server


@pytest.fixture
def sts(world: Aws, metadata: GcpMetadataServer) -> Iterator[WebIdentitySts]:
    with WebIdentitySts(world.moto, metadata.verify) as front:
        yield front


def worker_env(world: Aws, sts: WebIdentitySts, metadata_host: str, **extra: str) -> dict[str, str]:
    return world.moto.env(
        AWS_ROLE_ARN=world.role.arn,
        AWS_ENDPOINT_URL_STS=sts.url,
        GCE_METADATA_HOST=metadata_host,
        DOCPIPE_ROLE="extraction",
        DOCPIPE_BUCKET=world.bucket,
        DOCPIPE_PAYLOAD_THRESHOLD_BYTES="10000",
        DOCPIPE_SECRET_REFS=json.dumps({"unstructuredApiKey": world.secret_arn}),
        PROBE_DOCUMENT_URI=world.document_uri,
        PROBE_DOCUMENT_SHA256=hashlib.sha256(DOCUMENT).hexdigest(),
        **{Env.AWS_WEB_IDENTITY_AUDIENCE: UNIQUE_ID},
        **extra,
    )


@dataclass
class Run:
    lines: list[dict[str, Any]]  # one per step, in order
    output: str  # stdout + stderr, to check that no token leaks

    @property
    def steps(self) -> dict[str, dict[str, Any]]:
        return {line["step"]: line for line in self.lines}


def run_worker(env: dict[str, str], *steps: str) -> Run:
    command = [sys.executable, str(PROBE), *steps]
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)  # noqa: PLW1510
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [line["step"] for line in lines] == list(steps), proc.stderr[-3000:]
    return Run(lines, proc.stdout + proc.stderr)


def assert_no_token_in(run: Run, metadata: GcpMetadataServer) -> None:
    for token in metadata.tokens:
        assert token not in run.output
        assert token.split(".")[1] not in run.output  # not even the claims part


def test_worker_without_keys_reads_offloads_and_resolves_secrets_as_the_role(
    world: Aws, sts: WebIdentitySts, metadata: GcpMetadataServer
):
    run = run_worker(worker_env(world, sts, metadata.host), "secrets", "read", "offload", "identity")

    for step in ("secrets", "read", "offload", "identity"):
        assert run.steps[step]["ok"], run.steps[step]
    assert run.steps["secrets"]["set"] == ["UNSTRUCTURED_API_KEY"]
    assert (
        run.steps["secrets"]["sha256"]["UNSTRUCTURED_API_KEY"]
        == hashlib.sha256(SECRET_VALUE.encode()).hexdigest()
    )
    assert run.steps["read"]["size"] == len(DOCUMENT)
    assert run.steps["offload"]["round_trip"] is True
    assert run.steps["offload"]["stored_bytes"] < 10000  # a claim in history, the payload in the bucket
    stored = world.moto.client("s3").list_objects_v2(Bucket=world.bucket, Prefix="v0/")
    assert stored["KeyCount"] >= 1
    assert (
        run.steps["identity"]["arn"]
        == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{world.role.name}/docpipe-extraction"
    )

    # The metadata server was asked for the audience the trust policy expects, the way Cloud Run is.
    asked = metadata.identity_requests()
    assert asked and all(r.status == 200 for r in asked)
    assert {(r.audience, r.format, r.flavor) for r in asked} == {(UNIQUE_ID, "full", "Google")}
    # One session (STS's default hour) served every call; each signed call used its key, and that
    # key passed moto's signature, session-token and policy checks.
    calls = sts.wait_for(lambda calls: len(calls) >= 1)
    assert [(c.outcome, c.session_name, c.duration_seconds) for c in calls] == [
        ("ok", "docpipe-extraction", None)
    ]
    assert calls[0].claims["azp"] == calls[0].claims["sub"] == UNIQUE_ID
    keys = {k for step in ("secrets", "read", "offload", "identity") for k in run.steps[step]["signed_with"]}
    assert len(keys) == 1 and next(iter(keys)).startswith("ASIA")
    # The line docs/cloud-run-aws-access.md tells users to look for, once per STS exchange.
    logged = f"workers.aws: assumed role {world.role.arn} as session docpipe-extraction with a Google ID"
    assert run.output.count(logged) == 1
    assert_no_token_in(run, metadata)


def test_credentials_are_refreshed_through_metadata_and_sts_when_they_near_expiry(
    world: Aws, sts: WebIdentitySts, metadata: GcpMetadataServer
):
    # STS's shortest session (900 s) starts inside botocore's 15-minute refresh window, so each use
    # of the credentials is a real refresh: a new token from the metadata server, a new
    # AssumeRoleWithWebIdentity, new keys — the path a one-hour session takes at minute 45.
    env = worker_env(world, sts, metadata.host, **{Env.AWS_SESSION_SECONDS: "900"})
    run = run_worker(env, "read", "read")

    first, second = run.lines
    assert first["ok"] and second["ok"], (first, second)
    calls = sts.wait_for(lambda calls: len(calls) >= 2)
    assert all(c.outcome == "ok" and c.duration_seconds == 900 for c in calls)
    assert len(metadata.identity_requests()) == len(calls)  # every STS call carried a fresh token
    assert first["signed_with"] and second["signed_with"]
    assert not set(first["signed_with"]) & set(second["signed_with"])  # the second read used new keys


def test_an_expired_token_is_replaced_and_the_call_still_succeeds(
    world: Aws, sts: WebIdentitySts, metadata: GcpMetadataServer
):
    metadata.expire_next(1)
    run = run_worker(worker_env(world, sts, metadata.host), "read")

    assert run.steps["read"]["ok"], run.steps["read"]
    assert sts.outcomes() == ["ExpiredTokenException", "ok"]
    assert len(metadata.identity_requests()) == 2


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_without_a_metadata_server_errors_name_gce_metadata_host(world: Aws, sts: WebIdentitySts):
    host = f"127.0.0.1:{_closed_port()}"
    run = run_worker(worker_env(world, sts, host), "secrets", "read")

    for step in ("secrets", "read"):
        error = run.steps[step]["error"]
        assert not run.steps[step]["ok"]
        assert f"GCE_METADATA_HOST={host}" in error
        assert f"http://{host}/computeMetadata/v1/instance/service-accounts/default/identity" in error
    assert run.steps["secrets"]["error"].startswith(
        "RuntimeError: could not read secret 'unstructuredApiKey': cannot reach the GCP metadata server"
    )
    assert sts.calls == []


def test_a_refusing_metadata_server_is_named_with_its_status(
    world: Aws, sts: WebIdentitySts, metadata: GcpMetadataServer
):
    metadata.refuse(404)
    run = run_worker(worker_env(world, sts, metadata.host), "read")

    assert "refused an ID token (HTTP 404" in run.steps["read"]["error"]
    assert sts.calls == []


def test_sts_refusal_names_the_role_and_sts_message_without_the_token(
    world: Aws, sts: WebIdentitySts, metadata: GcpMetadataServer
):
    # A role trusting another service account: the token's azp/sub do not match its conditions.
    other = create_role(
        world.moto, unique("docpipe-analysis"), google_trust_policy("100000000000000000002"), []
    )
    env = worker_env(world, sts, metadata.host) | {"AWS_ROLE_ARN": other.arn}
    run = run_worker(env, "read")

    error = run.steps["read"]["error"]
    assert f"STS refused AssumeRoleWithWebIdentity for role {other.arn}" in error
    assert "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity" in error
    assert sts.outcomes() == ["AccessDenied"]
    assert_no_token_in(run, metadata)


# --- the switch itself, in-process (no servers) ---------------------------------------------------


def test_web_identity_only_without_a_token_file(monkeypatch: pytest.MonkeyPatch):
    base = {"AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/r", Env.AWS_WEB_IDENTITY_AUDIENCE: "a"}
    assert aws.web_identity_config({}) is None
    assert aws.web_identity_config(base | {"AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token"}) is None
    config = aws.web_identity_config(base | {Env.ROLE: "analysis"})
    assert config is not None
    assert (config.metadata_host, config.session_name) == ("metadata.google.internal", "docpipe-analysis")
    assert "GCE_METADATA_HOST is unset" in config.host_hint()
    # Without the role ARN, client() is boto3's own default-session client.
    monkeypatch.delenv("AWS_ROLE_ARN", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert aws.client("s3").meta.region_name == "eu-west-1"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({Env.AWS_WEB_IDENTITY_AUDIENCE: ""}, "DOCPIPE_AWS_WEB_IDENTITY_AUDIENCE"),
        (
            {Env.AWS_SESSION_SECONDS: "600"},
            "DOCPIPE_AWS_SESSION_SECONDS='600' must be whole seconds from 900",
        ),
        ({Env.AWS_SESSION_SECONDS: "1h"}, "DOCPIPE_AWS_SESSION_SECONDS='1h'"),
    ],
)
def test_web_identity_settings_are_checked(extra: dict[str, str], message: str):
    env = {"AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/r", Env.AWS_WEB_IDENTITY_AUDIENCE: "a"} | extra
    with pytest.raises(aws.AwsCredentialsError, match=message.replace("(", r"\(")):
        aws.web_identity_config(env)


def test_bedrock_model_signs_with_the_web_identity_session(monkeypatch: pytest.MonkeyPatch):
    from workers.analysis.strands_agent import build_model
    from workers.settings import Settings

    monkeypatch.delenv("AWS_WEB_IDENTITY_TOKEN_FILE", raising=False)
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/docpipe-analysis")
    monkeypatch.setenv(Env.AWS_WEB_IDENTITY_AUDIENCE, UNIQUE_ID)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    model = build_model(Settings(analysis_backend="strands", model_provider="bedrock", model_id="m-1"))
    # Credentials are deferred: nothing is fetched until the first model call.
    assert model.client._request_signer._credentials.method == aws.CREDENTIAL_METHOD
