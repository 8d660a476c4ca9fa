"""How a worker reaches PostgreSQL: DOCPIPE_DATABASE_URL, or on AWS the RDS-managed secret + host.

The password never appears in a log line or an error message: errors name the host only.
"""

from __future__ import annotations

import asyncio
import json

from workers.settings import Settings


class DatabaseNotConfigured(RuntimeError):
    pass


def _from_secret(settings: Settings) -> str:
    from psycopg.conninfo import make_conninfo

    from workers import aws  # boto3 loads only in AWS storage workers

    assert settings.database_secret_arn
    raw = aws.client("secretsmanager").get_secret_value(SecretId=settings.database_secret_arn)["SecretString"]
    secret = json.loads(raw)  # RDS-managed secrets hold {"username", "password"}
    return make_conninfo(
        host=settings.database_host or secret.get("host"),
        port=int(secret.get("port", 5432)),
        dbname=settings.database_name,
        user=secret["username"],
        password=secret["password"],
        sslmode="require",
    )


async def conninfo(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    if settings.database_secret_arn:
        return await asyncio.to_thread(_from_secret, settings)
    raise DatabaseNotConfigured(
        "storage needs DOCPIPE_DATABASE_URL, or DOCPIPE_DATABASE_SECRET_ARN and DOCPIPE_DATABASE_HOST"
    )
