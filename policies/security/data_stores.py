"""Database and cache: reachable only from the VPC, encrypted, and behind credentials."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs
from pydantic import Field

from policies.common import PolicyConfig, resource_policy
from policies.props import UNKNOWN, elements, get, plain, truthy
from policies.resource_types import (
    CACHE_CLUSTER,
    RDS_CLUSTER,
    RDS_INSTANCE,
    REPLICATION_GROUP,
    SERVERLESS_CACHE,
)


class DatabaseConfig(PolicyConfig):
    """Config of `database-private-encrypted`."""

    allow_publicly_accessible: bool = Field(
        default=False,
        description="Accept publiclyAccessible=true (only with reachability public-tls and "
        "allowedCidrs; TLS is required by the parameter group).",
    )
    require_managed_password: bool = Field(
        default=True, description="Reject a master password given in the resource inputs."
    )


def check_database(args: ResourceValidationArgs, config: DatabaseConfig, report: ReportViolation) -> None:
    """RDS: not publicly accessible (unless allowed), storage encrypted, no plaintext master password."""
    props = args.props
    public = args.resource_type == RDS_INSTANCE and truthy(get(props, "publiclyAccessible"))
    if public and not config.allow_publicly_accessible:
        report(
            f"database {args.name!r} has publiclyAccessible=true; keep it false so only the VPC "
            "reaches it (docpipe:database.reachability vpc-only)",
            None,
        )
    encrypted = get(props, "storageEncrypted")
    if encrypted is not UNKNOWN and not truthy(encrypted):
        report(
            f"database {args.name!r} has storageEncrypted={plain(encrypted)!r}; set storageEncrypted=true",
            None,
        )
    password = get(props, "password", get(props, "masterPassword"))
    if password not in (None, UNKNOWN, "") and config.require_managed_password:
        report(
            f"database {args.name!r} sets a master password in its inputs; use "
            "manageMasterUserPassword=true so the password lives only in Secrets Manager",
            None,
        )


database_private_encrypted = resource_policy(
    name="database-private-encrypted",
    description="The database is reachable only from the VPC and encrypts its storage.",
    remediation=(
        "Set publiclyAccessible=false and storageEncrypted=true on the RDS instance, and let RDS manage "
        "the master password (manageMasterUserPassword=true). Workers outside AWS reach the database "
        "through docpipe:database.reachability public-tls with allowedCidrs, which also needs this "
        "policy's allowPubliclyAccessible."
    ),
    types=(RDS_INSTANCE, RDS_CLUSTER),
    config=DatabaseConfig,
    check=check_database,
)


class CacheConfig(PolicyConfig):
    """Config of `cache-private-encrypted`."""

    require_auth: bool = Field(
        default=True, description="Require credentials (AUTH token or RBAC user group) for cache clients."
    )


def check_cache(args: ResourceValidationArgs, config: CacheConfig, report: ReportViolation) -> None:
    """ElastiCache: TLS in transit (required, not merely preferred), encrypted at rest, and auth."""
    props = args.props
    name = args.name
    if args.resource_type == SERVERLESS_CACHE:
        # Serverless caches always use TLS and encrypt at rest; auth needs a user group.
        user_group = get(props, "userGroupId")
        if config.require_auth and user_group in (None, ""):
            report(
                f"cache {name!r} has no userGroupId, so any client in the VPC connects without "
                "credentials; attach an ElastiCache user group (RBAC) with a non-default user",
                None,
            )
        return
    transit = get(props, "transitEncryptionEnabled")
    if transit is not UNKNOWN and not truthy(transit):
        report(f"cache {name!r} has transitEncryptionEnabled={plain(transit)!r}; set it to true", None)
    elif get(props, "transitEncryptionMode") == "preferred":
        report(
            f"cache {name!r} has transitEncryptionMode='preferred', which still accepts plaintext "
            "connections; set it to 'required'",
            None,
        )
    if args.resource_type == REPLICATION_GROUP:
        at_rest = get(props, "atRestEncryptionEnabled")
        engine = get(props, "engine", "redis")
        # The provider encrypts valkey at rest by default; redis only when asked.
        if at_rest is not UNKNOWN and (at_rest is False or (at_rest is None and engine != "valkey")):
            report(f"cache {name!r} is not encrypted at rest; set atRestEncryptionEnabled=true", None)
    has_token = get(props, "authToken") not in (None, "")
    groups = [g for g in elements(get(props, "userGroupIds")) if g not in (None, "")]
    if config.require_auth and not has_token and not groups:
        report(
            f"cache {name!r} accepts clients without credentials; set authToken (from a secret) or "
            "userGroupIds",
            None,
        )


cache_private_encrypted = resource_policy(
    name="cache-private-encrypted",
    description="The cache requires TLS and authentication and encrypts its data at rest.",
    remediation=(
        "Use ElastiCache Serverless with a user group (userGroupId), or a replication group with "
        "transitEncryptionEnabled=true, transitEncryptionMode 'required', atRestEncryptionEnabled=true "
        "and an authToken or userGroupIds."
    ),
    types=(SERVERLESS_CACHE, REPLICATION_GROUP, CACHE_CLUSTER),
    config=CacheConfig,
    check=check_cache,
)
