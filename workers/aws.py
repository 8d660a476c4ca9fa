"""The one place workers get boto3 clients: ambient AWS credentials, or web identity on Cloud Run.

On EC2 and Lambda boto3's default chain finds credentials (instance profile, Lambda env), and
`client()` is plain `boto3.client(...)`. A Cloud Run worker pool has no AWS credentials, only
`AWS_ROLE_ARN` and no web-identity token file (boto3 uses web identity only when both
`AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE` are set). There the session gets a refreshable
credential provider that:

1. fetches a Google ID token for the pool's service account from the GCP metadata server
   (`GET http://$GCE_METADATA_HOST/computeMetadata/v1/instance/service-accounts/default/identity
   ?audience=A&format=full`, header `Metadata-Flavor: Google`; host `metadata.google.internal` unless
   `GCE_METADATA_HOST` is set — the variable google-auth honours), with audience
   `DOCPIPE_AWS_WEB_IDENTITY_AUDIENCE`;
2. exchanges it for role credentials with STS `AssumeRoleWithWebIdentity` (session name
   `docpipe-<role>`; `DOCPIPE_AWS_SESSION_SECONDS` requests a duration, else STS's default hour);
3. lets botocore refresh them: `AssumeRoleWithWebIdentityCredentialFetcher` and
   `DeferredRefreshableCredentials` are botocore's own web-identity machinery, given a token loader
   that asks the metadata server instead of reading a file. The first AWS call fetches credentials;
   calls within 15 minutes of expiry refresh them (a failed early refresh keeps the old ones; within
   10 minutes a refresh must succeed). Each refresh asks the metadata server for a fresh token, so an
   ID token never outlives its hour.

stdlib urllib, not google-auth: google-auth (and its requests/cachetools/pyasn1 tree) would be a
worker-image dependency for one GET. Proxies are bypassed: the metadata server is link-local.

Errors name what to check and never carry the token: an unreachable metadata server names
`GCE_METADATA_HOST` and the URL; a refusal by STS names the role ARN and STS's message. (botocore's
own DEBUG logging prints request bodies, the token included — keep `botocore` at INFO or above.)
boto3 is imported at the first client, never when a worker starts (Lambda cold starts).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from workers.contract import Env

logger = logging.getLogger(__name__)

METADATA_HOST_ENV = "GCE_METADATA_HOST"
DEFAULT_METADATA_HOST = "metadata.google.internal"
IDENTITY_PATH = "/computeMetadata/v1/instance/service-accounts/default/identity"
CREDENTIAL_METHOD = "gcp-metadata-web-identity"
# STS's own limits for DurationSeconds (the role's MaxSessionDuration may cap it lower).
MIN_SESSION_SECONDS, MAX_SESSION_SECONDS = 900, 43200

_METADATA_ATTEMPTS = 3
_METADATA_TIMEOUT_SECONDS = 5.0
# A fresh token fixes these; anything else (wrong audience, trust policy) would fail again.
_RETRY_WITH_NEW_TOKEN = ("ExpiredTokenException", "IDPCommunicationError")
_JWT = re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]*")


class AwsCredentialsError(RuntimeError):
    """No AWS credentials for this worker; the message says what to check and holds no secret."""


def _redact(text: str) -> str:
    """Text from a server (an error body, STS's message) with anything JWT-shaped removed."""
    return _JWT.sub("<token>", text)


@dataclass(frozen=True)
class WebIdentityConfig:
    role_arn: str
    audience: str
    metadata_host: str
    metadata_host_from_env: bool
    session_name: str
    duration_seconds: int | None

    @property
    def identity_url(self) -> str:
        query = urlencode({"audience": self.audience, "format": "full"})
        return f"http://{self.metadata_host}{IDENTITY_PATH}?{query}"

    def host_hint(self) -> str:
        if self.metadata_host_from_env:
            return f"{METADATA_HOST_ENV}={self.metadata_host}"
        return f"{METADATA_HOST_ENV} is unset, so {DEFAULT_METADATA_HOST} is used"


def _session_name(env: Mapping[str, str]) -> str:
    explicit = env.get("AWS_ROLE_SESSION_NAME")
    if explicit:
        return explicit
    # Stable per role, so CloudTrail shows which role's workers made a call; STS allows [\w+=,.@-]{2,64}.
    name = "docpipe-" + (env.get(Env.ROLE) or "worker")
    return re.sub(r"[^\w+=,.@-]", "-", name)[:64]


def _duration(raw: str | None) -> int | None:
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not MIN_SESSION_SECONDS <= value <= MAX_SESSION_SECONDS:
        raise AwsCredentialsError(
            f"{Env.AWS_SESSION_SECONDS}={raw!r} must be whole seconds from {MIN_SESSION_SECONDS} "
            f"to {MAX_SESSION_SECONDS} (and within the role's MaxSessionDuration)"
        )
    return value


def web_identity_config(env: Mapping[str, str] | None = None) -> WebIdentityConfig | None:
    """The web-identity settings when this process must fetch its own token, else None."""
    e = os.environ if env is None else env
    role_arn = e.get("AWS_ROLE_ARN")
    if not role_arn or e.get("AWS_WEB_IDENTITY_TOKEN_FILE"):
        return None  # ambient credentials, or boto3's own file-based web identity
    audience = e.get(Env.AWS_WEB_IDENTITY_AUDIENCE)
    if not audience:
        raise AwsCredentialsError(
            f"AWS_ROLE_ARN={role_arn} is set without a token file, so this worker fetches a Google ID "
            f"token itself, but {Env.AWS_WEB_IDENTITY_AUDIENCE} (the audience the role's trust policy "
            "expects) is not set"
        )
    host = e.get(METADATA_HOST_ENV)
    return WebIdentityConfig(
        role_arn=role_arn,
        audience=audience,
        metadata_host=host or DEFAULT_METADATA_HOST,
        metadata_host_from_env=bool(host),
        session_name=_session_name(e),
        duration_seconds=_duration(e.get(Env.AWS_SESSION_SECONDS)),
    )


class GoogleIdTokenLoader:
    """botocore's `web_identity_token_loader`: a fresh Google ID token from the metadata server."""

    def __init__(self, config: WebIdentityConfig) -> None:
        self._config = config

    def __call__(self) -> str:
        import urllib.error
        import urllib.request

        url = self._config.identity_url
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        request = urllib.request.Request(url, headers={"Metadata-Flavor": "Google"})  # noqa: S310
        reason = ""
        for attempt in range(1, _METADATA_ATTEMPTS + 1):
            try:
                with opener.open(request, timeout=_METADATA_TIMEOUT_SECONDS) as response:
                    flavor = response.headers.get("Metadata-Flavor")
                    token = response.read().decode("ascii", "replace").strip()
                return self._checked(token, flavor, url)
            except urllib.error.HTTPError as err:
                detail = _redact(err.read(300).decode("utf-8", "replace")).strip().splitlines()
                reason = f"HTTP {err.code} {detail[0] if detail else err.reason}"
                if err.code != 429 and err.code < 500:
                    raise AwsCredentialsError(
                        f"the GCP metadata server at {url} refused an ID token ({reason}); check that "
                        f"the pool runs as a service account ({self._config.host_hint()})"
                    ) from None
            except (urllib.error.URLError, OSError) as err:
                reason = str(getattr(err, "reason", err))
            if attempt < _METADATA_ATTEMPTS:
                time.sleep(0.5 * attempt)
        raise AwsCredentialsError(
            f"cannot reach the GCP metadata server for a Google ID token: {url} ({reason}; "
            f"{self._config.host_hint()})"
        )

    def _checked(self, token: str, flavor: str | None, url: str) -> str:
        if flavor != "Google":
            raise AwsCredentialsError(
                f"{url} answered without the 'Metadata-Flavor: Google' header: not a GCP metadata "
                f"server ({self._config.host_hint()})"
            )
        if token.count(".") != 2 or not token.startswith("eyJ"):
            raise AwsCredentialsError(f"{url} returned something that is not a JWT ID token")
        return token


class _Refresher:
    """botocore's `refresh_using`: the fetcher's credentials, with STS errors named and explained."""

    def __init__(self, config: WebIdentityConfig, fetcher: Any) -> None:
        self._config = config
        self._fetcher = fetcher

    def __call__(self) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        role = self._config.role_arn
        for attempt in (1, 2):
            try:
                credentials: dict[str, Any] = self._fetcher.fetch_credentials()
            except ClientError as err:
                error = err.response.get("Error", {})
                code = str(error.get("Code", "?"))
                message = _redact(str(error.get("Message", "")))
                if code in _RETRY_WITH_NEW_TOKEN and attempt == 1:
                    logger.warning("STS refused the ID token for %s (%s); trying a fresh one", role, code)
                    continue
                raise AwsCredentialsError(
                    f"STS refused AssumeRoleWithWebIdentity for role {role} (audience "
                    f"{self._config.audience}): {code}: {message}"
                ) from None
            except BotoCoreError as err:
                raise AwsCredentialsError(
                    f"cannot call STS AssumeRoleWithWebIdentity for role {role}: {_redact(str(err))}"
                ) from None
            logger.info(
                "assumed role %s as session %s with a Google ID token (expires %s)",
                role,
                self._config.session_name,
                credentials.get("expiry_time"),
            )
            return credentials
        raise AssertionError("unreachable")


def _web_identity_session(config: WebIdentityConfig) -> Any:
    import boto3
    import botocore.session
    from botocore.credentials import (
        AssumeRoleWithWebIdentityCredentialFetcher,
        CredentialProvider,
        DeferredRefreshableCredentials,
    )

    core = botocore.session.Session()
    extra: dict[str, Any] = {"RoleSessionName": config.session_name}
    if config.duration_seconds:
        extra["DurationSeconds"] = config.duration_seconds
    fetcher = AssumeRoleWithWebIdentityCredentialFetcher(
        client_creator=core.create_client,  # STS honours AWS_REGION / AWS_ENDPOINT_URL(_STS) as usual
        web_identity_token_loader=GoogleIdTokenLoader(config),
        role_arn=config.role_arn,
        extra_args=extra,
    )
    credentials = DeferredRefreshableCredentials(
        refresh_using=_Refresher(config, fetcher), method=CREDENTIAL_METHOD
    )

    class MetadataWebIdentityProvider(CredentialProvider):
        METHOD = CREDENTIAL_METHOD

        def load(self) -> Any:
            return credentials

    # First in the chain: on Cloud Run nothing else applies, and stray keys must not win silently.
    core.get_component("credential_provider").insert_before("env", MetadataWebIdentityProvider())
    return boto3.Session(botocore_session=core)


_lock = threading.Lock()
_sessions: dict[WebIdentityConfig, Any] = {}


def _shared_session(config: WebIdentityConfig) -> Any:
    # One session per configuration and process, so all clients share one set of credentials and
    # one refresh; keyed by configuration so a changed environment (tests) gets its own.
    with _lock:
        if config not in _sessions:
            _sessions[config] = _web_identity_session(config)
        return _sessions[config]


def session() -> Any:
    """A boto3 Session with this worker's credentials (for SDKs that take one, e.g. Bedrock's)."""
    config = web_identity_config()
    if config is None:
        import boto3

        return boto3.Session()
    return _shared_session(config)


def client(service: str, region: str | None = None) -> Any:
    """A boto3 client for `service`, with web-identity credentials where the worker needs them."""
    config = web_identity_config()
    if config is None:
        import boto3

        return boto3.client(service, region_name=region)
    shared = _shared_session(config)
    with _lock:  # creating clients from one Session in several threads at once is not safe
        return shared.client(service, region_name=region)
