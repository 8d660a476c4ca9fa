"""A local GCP metadata server for the service-account identity endpoint, as Cloud Run serves it.

`GET /computeMetadata/v1/instance/service-accounts/{default|EMAIL}/identity?audience=A&format=F`
with header `Metadata-Flavor: Google` returns a Google ID token (a JWT) for audience A, with
`Metadata-Flavor: Google` on the response, like the real server:

- no `Metadata-Flavor: Google` header, or an `X-Forwarded-For` header → 403;
- no audience → 400; an unknown account or path → 404;
- claims: `iss` https://accounts.google.com, `aud` = the audience, `azp` and `sub` = the service
  account's unique id, `iat`, `exp` (one hour); `format=full` adds `email`, `email_verified` and
  `google.compute_engine` (`format=standard`, the default, does not).

Unlike Google's tokens (RS256, verified against Google's published keys), these are HS256-signed with
a per-server key; `verify()` is what an STS stand-in uses to check them. The server counts and
records requests, can be told to refuse (`refuse(status)`), and can issue tokens that are already
expired (`expire_next(n)`), which an STS that checks `exp` rejects.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.loopback import LoopbackServer

IDENTITY = "/computeMetadata/v1/instance/service-accounts/{account}/identity"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class IdentityRequest:
    path: str
    audience: str | None
    format: str | None
    flavor: str | None
    status: int


class GcpMetadataServer:
    def __init__(
        self,
        unique_id: str = "100000000000000000001",
        email: str = "docpipe-worker@docpipe-test.iam.gserviceaccount.com",
        token_seconds: int = 3600,
    ) -> None:
        self.unique_id, self.email, self.token_seconds = unique_id, email, token_seconds
        self._key = secrets.token_bytes(32)
        self.requests: list[IdentityRequest] = []
        self.tokens: list[str] = []  # every token issued, so tests can check none leaks
        self._refuse_status: int | None = None
        self._expired_left = 0
        self._changed = threading.Condition()
        self._http = LoopbackServer(self._handler(), "gcp-metadata")

    # -- control -------------------------------------------------------------------------------
    @property
    def host(self) -> str:
        """The value for GCE_METADATA_HOST."""
        return f"127.0.0.1:{self._http.port}"

    def __enter__(self) -> GcpMetadataServer:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.stop()

    def refuse(self, status: int | None = 403) -> None:
        """Answer identity requests with this HTTP status from now on (None: serve again)."""
        with self._changed:
            self._refuse_status = status

    def expire_next(self, count: int = 1) -> None:
        """The next `count` tokens are issued already expired (iat two hours ago, exp one hour ago)."""
        with self._changed:
            self._expired_left = count

    def identity_requests(self) -> list[IdentityRequest]:
        with self._changed:
            return [r for r in self.requests if r.path.endswith("/identity")]

    def wait_for(self, predicate: Callable[[list[IdentityRequest]], bool], timeout: float = 60) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self.requests), timeout):
                raise AssertionError(f"metadata requests never matched: {self.requests}")

    # -- tokens --------------------------------------------------------------------------------
    def _issue(self, audience: str, full: bool) -> str:
        now = int(time.time())
        with self._changed:
            expired = self._expired_left > 0
            self._expired_left -= int(expired)
        iat = now - 2 * self.token_seconds if expired else now
        claims: dict[str, Any] = {
            "aud": audience,
            "azp": self.unique_id,
            "exp": iat + self.token_seconds,
            "iat": iat,
            "iss": "https://accounts.google.com",
            "sub": self.unique_id,
        }
        if full:
            claims |= {
                "email": self.email,
                "email_verified": True,
                "google": {
                    "compute_engine": {
                        "project_id": "docpipe-test",
                        "project_number": 123456789,
                        "zone": "us-central1-1",
                        "instance_id": "0087244a8f3f",
                        "instance_name": "localhost",
                    }
                },
            }
        header = {"alg": "HS256", "kid": "docpipe-test", "typ": "JWT"}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{_b64(signature)}"
        with self._changed:
            self.tokens.append(token)
        return token

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token this server issued; ValueError for anything else (not `exp`)."""
        try:
            head, body, signature = token.split(".")
            expected = hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _unb64(signature)):
                raise ValueError("bad signature")
            claims: dict[str, Any] = json.loads(_unb64(body))
        except ValueError as err:
            raise ValueError(f"not a token of this identity provider ({err})") from None
        return claims

    # -- HTTP ----------------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                flavor = self.headers.get("Metadata-Flavor")
                status, body = server._answer(url.path, query, flavor, self.headers.get("X-Forwarded-For"))
                with server._changed:
                    server.requests.append(
                        IdentityRequest(url.path, query.get("audience"), query.get("format"), flavor, status)
                    )
                    server._changed.notify_all()
                self.send_response(status)
                self.send_header("Metadata-Flavor", "Google")
                self.send_header("Content-Type", "text/html; charset=UTF-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def _answer(
        self, path: str, query: dict[str, str], flavor: str | None, forwarded: str | None
    ) -> tuple[int, bytes]:
        if flavor != "Google" or forwarded:
            return 403, (
                b"Your client does not have permission to get URL " + path.encode() + b" from this server."
                b' Missing required header "Metadata-Flavor": "Google"\n'
            )
        accounts = {IDENTITY.format(account=a) for a in ("default", self.email)}
        if path not in accounts:
            return 404, b"Not Found\n"
        with self._changed:
            refuse = self._refuse_status
        if refuse is not None:
            return refuse, b"service account token refused (test server told to refuse)\n"
        audience = query.get("audience")
        if not audience:
            return 400, b"non-empty audience parameter required\n"
        return 200, self._issue(audience, query.get("format") == "full").encode()
