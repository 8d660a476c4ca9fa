"""Secrets a worker fetches itself at start, from DOCPIPE_SECRET_REFS (names → ARNs, never values).

Each value lands in the environment variable its backend reads (`contract.SECRET_REF_ENV`). A
variable that is already set wins (Cloud Run injects secrets as env vars by reference). Values are
never logged; errors name the secret, not its content.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import MutableMapping

from workers.aws import AwsCredentialsError
from workers.contract import SECRET_REF_ENV, Env

logger = logging.getLogger(__name__)


def _fetch(arn: str) -> str:
    from workers import aws  # boto3 loads only in workers with AWS secret refs

    region = arn.split(":")[3] if arn.count(":") >= 6 else None
    value = aws.client("secretsmanager", region).get_secret_value(SecretId=arn)
    raw: str = value.get("SecretString") or ""
    # A JSON secret holding one value ({"apiKey": "..."}/{"password": "..."}) is unwrapped.
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            return raw
        if isinstance(data, dict) and len(data) == 1:
            return str(next(iter(data.values())))
        if isinstance(data, dict) and "password" in data:
            return str(data["password"])
    return raw


def resolve_secret_refs(env: MutableMapping[str, str] | None = None) -> list[str]:
    """Fill env vars from the secret refs; returns the env var names it set."""
    e = os.environ if env is None else env
    try:
        refs = json.loads(e.get(Env.SECRET_REFS) or "{}")
    except json.JSONDecodeError:
        raise ValueError(f"{Env.SECRET_REFS} is not a JSON object of name → ARN") from None
    done = []
    for name, ref in refs.items():
        target = SECRET_REF_ENV.get(name)
        if not target or e.get(target) or not str(ref).startswith("arn:aws:secretsmanager:"):
            continue
        try:
            e[target] = _fetch(str(ref))
        except AwsCredentialsError as err:
            # Says what to check (metadata server, role, STS's reason) and holds no secret.
            raise RuntimeError(f"could not read secret {name!r}: {err}") from None
        except Exception as err:
            raise RuntimeError(f"could not read secret {name!r} ({type(err).__name__})") from None
        done.append(target)
    if done:
        logger.info("secrets loaded into %s", ", ".join(done))
    return done
