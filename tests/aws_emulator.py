"""An AWS API emulator for the suite: moto 5.2.5 in server mode, on a free loopback port.

Fixtures (session-scoped; registered for every test by `pytest_plugins` in tests/conftest.py, and
started only by the tests that ask for them):

- `moto_server`: `moto.server.ThreadedMotoServer` in the pytest process, IAM checks **off** — any
  signed request is served, whatever its credentials. For code paths that only need S3 / STS /
  Secrets Manager / IAM to exist.
- `moto_iam_server`: the same server in **its own process** with IAM authentication and
  authorization **on** (`INITIAL_NO_AUTH_ACTION_COUNT=3`: the fixture spends those three free calls
  creating an admin user, whose keys `MotoEndpoint.client()` uses; every later request is checked).
  Its own process because moto's IAM switch, request counter and backends are process-global: in the
  pytest process they would switch checks on for `moto_server` too, and share its state.

Both yield a `MotoEndpoint` (`url`, `client(service)`, `env()` for a subprocess that must find AWS at
moto and has no static keys). Names are shared per session: use unique bucket / role / secret names.
`moto.mock_aws` in the pytest process would reset `moto_server`'s state — do not mix them.

`WebIdentitySts` is a small STS front for `AssumeRoleWithWebIdentity`, because moto checks nothing
there (below): it verifies the token (signature via a callable, `iss`, `exp`), evaluates the role's
trust policy from moto's IAM the way AWS does for Google tokens (`accounts.google.com:aud` = the
token's `azp` if present, else `aud`; `accounts.google.com:oaud` = `aud`; `accounts.google.com:sub`
= `sub`; StringEquals / StringLike; a missing key fails the condition), refuses with STS's error codes
(ExpiredTokenException, InvalidIdentityToken, AccessDenied, ValidationError for DurationSeconds over
the role's MaxSessionDuration) and forwards what passes to moto — signed as the admin on an
IAM-enforcing server, so the credentials moto issues are for the real role, under its policies.
Point a client at it with `AWS_ENDPOINT_URL_STS`.

## What moto 5.2.5 enforces with IAM on (read in moto/core/authorization.py,
## moto/iam/access_control.py, moto/iam/policy_conditions.py, moto/sts/; checked by
## tests/test_aws_emulator.py)

Checked:
- **Signatures** (SigV4 recomputed with the key's secret): wrong secret → SignatureDoesNotMatch;
  unknown access key → InvalidClientTokenId (S3: InvalidAccessKeyId); for assumed-role keys the
  session token must match → InvalidToken.
- **Identity policies of two principal kinds**: IAM users (inline, attached and group policies) and
  assumed-role sessions (the role's inline and attached policies). Allow / explicit Deny (Deny wins),
  Action and NotAction with `*` wildcards.
- **Actions** as `<service>:<Operation>` (`secretsmanager:GetSecretValue`); S3 maps operations to
  IAM actions (HeadObject → s3:GetObject, ListObjectsV2 → s3:ListBucket, DeleteObject →
  s3:DeleteObject). `sts:GetCallerIdentity` is always allowed.
- **Resources only for S3** (`arn:aws:s3:::bucket` / `arn:aws:s3:::bucket/key`), SQS (queue ARN),
  IAM (role ARN when the request names a role) and STS AssumeRole (role ARN).
- **Trust policies only for `sts:AssumeRole`**: the caller must be listed under `Principal.AWS` (or
  `*`); the only condition evaluated is `StringEquals` on `sts:ExternalId`.

Not checked (a test passing on moto proves nothing about these):
- **Resources of every other service** are evaluated against `"*"`. A statement scoped to an ARN
  (`arn:aws:secretsmanager:…:secret:docpipe-*`) does not match `"*"`, so the call is **denied even
  though AWS would allow it** (HTTP 403 with an XML body; a JSON-protocol client reports error code
  "403"). Under moto such grants must say `"Resource": "*"`; check ARNs another way (e.g. a linter).
- **Conditions in identity policies**: only StringEquals on keys moto supplies (just sts:ExternalId
  on AssumeRole); any other key counts as satisfied, other operators are ignored — a Condition never
  restricts anything.
- **Expiry**: assumed-role credentials keep working after their Expiration.
- Session policies, permission boundaries, SCPs, resource-based policies (bucket, secret, KMS).
- **AssumeRoleWithWebIdentity** (and …WithSAML): moto never decodes the token, never reads the trust
  policy, does not need the role to exist; it honours DurationSeconds (botocore refuses < 900
  client-side). With IAM on, the request — unsigned, as every SDK sends it — makes moto fail with
  HTTP 500 (KeyError on the Authorization header): web identity needs `WebIdentitySts`.
With IAM off (`moto_server`) nothing of the above is checked, but boto3 still needs some
credentials to sign with.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import pytest

from tests.loopback import LoopbackServer

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
# Free calls the IAM-enforcing server grants before it checks: CreateUser, PutUserPolicy, CreateAccessKey.
_BOOTSTRAP_CALLS = 3
# Signing keys for moto_server (IAM off: never checked, but boto3 refuses to sign without any).
_UNCHECKED_KEYS = ("testing", "testing")


@dataclass(frozen=True)
class MotoEndpoint:
    url: str
    iam_enforced: bool
    access_key: tuple[str, str]  # the admin user's key (IAM on) or placeholder keys (IAM off)
    region: str = REGION

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client on moto with the admin's (or placeholder) credentials."""
        import boto3

        key_id, secret = self.access_key
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            **kwargs,
        )

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a subprocess that reaches AWS at moto and holds no static keys.

        No AWS_ACCESS_KEY_ID / SECRET, no shared config or credentials files, no EC2 metadata
        probing: the process has only the credentials its own code obtains.
        """
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "PYTHONPATH": str(ROOT),
            "AWS_ENDPOINT_URL": self.url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        env.update(extra)
        return env


def _wait_http(url: str, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoEndpoint]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)  # port 0: the OS picks
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield MotoEndpoint(url=f"http://{host}:{port}", iam_enforced=False, access_key=_UNCHECKED_KEYS)
    finally:
        server.stop()


# The child serves until its stdin closes, so it cannot outlive pytest.
_CHILD = """
import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
"""


@contextlib.contextmanager
def iam_enforcing_moto() -> Iterator[MotoEndpoint]:
    """A moto server in a child process with IAM checks on, and an admin user to set things up."""
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(_BOOTSTRAP_CALLS))
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the port is printed (or the child died)
        if not line.strip().isdigit():
            raise RuntimeError(f"IAM-enforcing moto did not start (exit {proc.poll()})")
        url = f"http://127.0.0.1:{int(line)}"
        _wait_http(url)
        boot = MotoEndpoint(url=url, iam_enforced=True, access_key=("AKIABOOTSTRAP0000000", "unused"))
        iam = boot.client("iam")
        iam.create_user(UserName="moto-admin")
        iam.put_user_policy(
            UserName="moto-admin",
            PolicyName="everything",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            ),
        )
        key = iam.create_access_key(UserName="moto-admin")["AccessKey"]
        yield MotoEndpoint(
            url=url, iam_enforced=True, access_key=(key["AccessKeyId"], key["SecretAccessKey"])
        )
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def moto_iam_server() -> Iterator[MotoEndpoint]:
    with iam_enforcing_moto() as endpoint:
        yield endpoint


def unique(prefix: str) -> str:
    """A name no other test of the session uses (buckets, roles and secrets are session-wide)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# --- STS web identity as AWS checks it ---------------------------------------------------------

GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
_STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


class StsRefusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message


@dataclass
class StsCall:
    role_arn: str
    session_name: str
    duration_seconds: int | None
    claims: dict[str, Any]
    outcome: str  # "ok" or the STS error code


def _google_context(claims: dict[str, Any]) -> dict[str, str]:
    # AWS's condition keys for accounts.google.com tokens: `aud` is the token's azp when present.
    context = {"accounts.google.com:oaud": claims.get("aud"), "accounts.google.com:sub": claims.get("sub")}
    context["accounts.google.com:aud"] = claims.get("azp") or claims.get("aud")
    return {k: str(v) for k, v in context.items() if v is not None}


def _matches(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def trust_allows(policy: dict[str, Any], claims: dict[str, Any]) -> bool:
    """Whether a trust policy lets this Google token call sts:AssumeRoleWithWebIdentity."""
    context = _google_context(claims)
    allowed = False
    for statement in _as_list(policy.get("Statement", [])):
        actions = _as_list(statement.get("Action", []))
        if not any(_matches(a, "sts:AssumeRoleWithWebIdentity") for a in actions):
            continue
        federated = _as_list((statement.get("Principal") or {}).get("Federated", []))
        if "accounts.google.com" not in federated:
            continue
        if not _conditions_hold(statement.get("Condition", {}), context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _conditions_hold(conditions: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    for operator, keys in conditions.items():
        if operator not in ("StringEquals", "StringLike"):
            return False  # not modelled here: fail closed rather than pass silently
        for key, expected in keys.items():
            actual = context.get(key)
            if actual is None:
                return False
            if operator == "StringEquals" and actual not in _as_list(expected):
                return False
            if operator == "StringLike" and not any(_matches(p, actual) for p in _as_list(expected)):
                return False
    return True


class WebIdentitySts:
    """STS AssumeRoleWithWebIdentity with AWS's checks, in front of moto (which makes none)."""

    def __init__(self, moto: MotoEndpoint, verify_token: Callable[[str], dict[str, Any]]) -> None:
        self.moto = moto
        self._verify = verify_token
        self.calls: list[StsCall] = []
        self._changed = threading.Condition()
        self._http = LoopbackServer(self._handler(), "sts-web-identity")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.port}"

    def __enter__(self) -> WebIdentitySts:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.stop()

    def outcomes(self) -> list[str]:
        with self._changed:
            return [c.outcome for c in self.calls]

    def wait_for(self, predicate: Callable[[list[StsCall]], bool], timeout: float = 60) -> list[StsCall]:
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self.calls), timeout):
                raise AssertionError(f"STS calls never matched: {[c.outcome for c in self.calls]}")
            return list(self.calls)

    def _record(self, call: StsCall) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def _check(self, form: dict[str, str]) -> tuple[dict[str, Any], str]:
        token, role_arn = form.get("WebIdentityToken", ""), form.get("RoleArn", "")
        try:
            claims = self._verify(token)
        except ValueError as err:
            raise StsRefusal(400, "InvalidIdentityToken", f"Couldn't verify the token: {err}") from None
        if claims.get("iss") not in GOOGLE_ISSUERS:
            raise StsRefusal(
                400, "InvalidIdentityToken", f"No OpenIDConnect provider found for {claims.get('iss')}"
            )
        now = int(time.time())
        if int(claims.get("exp", 0)) <= now:
            raise StsRefusal(
                400,
                "ExpiredTokenException",
                f"Token expired: current date/time {now} must be before the expiration date/time "
                f"{claims.get('exp')}",
            )
        role_name = role_arn.rsplit("/", 1)[-1]
        try:
            role = self.moto.client("iam").get_role(RoleName=role_name)["Role"]
        except Exception:
            role = None
        if (
            role is None
            or role["Arn"] != role_arn
            or not trust_allows(role["AssumeRolePolicyDocument"], claims)
        ):
            raise StsRefusal(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
        duration = int(form.get("DurationSeconds") or 3600)
        if duration > int(role.get("MaxSessionDuration", 3600)):
            raise StsRefusal(
                400,
                "ValidationError",
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            )
        return claims, role_arn

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                if form.get("Action") != "AssumeRoleWithWebIdentity":
                    self._relay(*gate._forward(body, dict(self.headers), self.path))
                    return
                call = StsCall(
                    role_arn=form.get("RoleArn", ""),
                    session_name=form.get("RoleSessionName", ""),
                    duration_seconds=int(form["DurationSeconds"]) if "DurationSeconds" in form else None,
                    claims={},
                    outcome="ok",
                )
                try:
                    call.claims, _ = gate._check(form)
                    status, headers, data = gate._forward_signed(body)
                except StsRefusal as refusal:
                    call.outcome = refusal.code
                    gate._record(call)
                    self._relay(refusal.status, {"Content-Type": "text/xml"}, _error_xml(refusal))
                    return
                if status != 200:
                    call.outcome = f"moto HTTP {status}"
                gate._record(call)
                self._relay(status, headers, data)

            def _relay(self, status: int, headers: dict[str, str], data: bytes) -> None:
                self.send_response(status)
                for name in ("Content-Type", "x-amzn-RequestId"):
                    if name in headers:
                        self.send_header(name, headers[name])
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def _forward(self, body: bytes, headers: dict[str, str], path: str) -> tuple[int, dict[str, str], bytes]:
        # The Host header stays as signed by the client, so moto's signature check still holds.
        parts = urlsplit(self.moto.url)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def _forward_signed(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        if self.moto.iam_enforced:
            # AssumeRoleWithWebIdentity is unsigned; moto with IAM on needs a signature, so the
            # checked request goes on as the admin. moto issues credentials for the requested role.
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest
            from botocore.credentials import Credentials

            request = AWSRequest(method="POST", url=f"{self.moto.url}/", data=body, headers=headers)
            SigV4Auth(Credentials(*self.moto.access_key), "sts", self.moto.region).add_auth(request)
            headers = dict(request.headers.items())
        return self._forward(body, headers, "/")


def _error_xml(refusal: StsRefusal) -> bytes:
    kind = "Sender"
    return (
        f'<ErrorResponse xmlns="{_STS_NS}"><Error><Type>{kind}</Type><Code>{refusal.code}</Code>'
        f"<Message>{escape(refusal.message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()


@dataclass
class Role:
    """A role created in moto (name, ARN) for a test."""

    name: str
    arn: str
    policies: list[dict[str, Any]] = field(default_factory=list)


def create_role(
    moto: MotoEndpoint,
    name: str,
    trust: dict[str, Any],
    statements: list[dict[str, Any]],
    max_session: int = 3600,
) -> Role:
    """A role with a trust policy and one inline policy of `statements`."""
    iam = moto.client("iam")
    arn = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=max_session
    )["Role"]["Arn"]
    policy = {"Version": "2012-10-17", "Statement": statements}
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
    return Role(name=name, arn=arn, policies=[policy])


def google_trust_policy(unique_id: str) -> dict[str, Any]:
    """The trust policy the Pulumi program gives a Cloud Run role (infra/placements/cloudrun.py)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "accounts.google.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "accounts.google.com:sub": unique_id,
                        "accounts.google.com:aud": unique_id,
                    }
                },
            }
        ],
    }
