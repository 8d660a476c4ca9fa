"""S3 buckets: a full public access block, no public ACL, and default encryption."""

from __future__ import annotations

from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs
from pydantic import Field

from policies.common import PolicyConfig, stack_policy
from policies.props import elements, get, truthy
from policies.resource_types import BUCKET_ACLS, BUCKETS, PUBLIC_ACCESS_BLOCK, SSE_CONFIGS

PUBLIC_ACLS = {"public-read", "public-read-write", "authenticated-read"}
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _refs(resource: PolicyResource) -> set[str]:
    """Values another resource's `bucket` input may hold to point at this bucket."""
    refs = {resource.name, resource.urn}
    for key in ("id", "bucket", "arn"):
        value = get(resource.props, key)
        if isinstance(value, str) and value:
            refs.add(value)
    return refs


def _targets(attached: PolicyResource, bucket: PolicyResource, buckets: list[PolicyResource]) -> bool:
    """Whether a bucket-scoped resource (public access block, SSE config, ACL) belongs to `bucket`.

    The engine records which resource a `bucket` input came from (property dependencies, else the
    resource's dependencies); without that, the input's value is matched against each bucket's name,
    id and ARN, and a value that matches none (an id not known yet) is taken to be the only bucket's
    when there is one.
    """
    deps = attached.property_dependencies.get("bucket") or []
    if deps:
        return any(d.urn == bucket.urn for d in deps)
    on_buckets = [d for d in attached.dependencies if d.resource_type in BUCKETS]
    if on_buckets:
        return any(d.urn == bucket.urn for d in on_buckets)
    value = get(attached.props, "bucket")
    if isinstance(value, str) and value:
        if value in _refs(bucket):
            return True
        if any(value in _refs(other) for other in buckets):
            return False
    return len(buckets) == 1


def _sse_algorithms(props: Any) -> list[str]:
    found = []
    for rule in elements(get(props, "rules")):
        algorithm = get(rule, "applyServerSideEncryptionByDefault.sseAlgorithm")
        if isinstance(algorithm, str):
            found.append(algorithm)
    return found


class BucketConfig(PolicyConfig):
    """Config of `bucket-private-encrypted`."""

    allowed_sse_algorithms: list[str] = Field(
        default=["aws:kms", "aws:kms:dsse", "AES256"],
        description="Server-side encryption algorithms accepted as default bucket encryption.",
    )


def check_buckets(args: StackValidationArgs, config: BucketConfig, report: ReportViolation) -> None:
    """Every bucket has a full public access block, no public ACL, and default encryption."""
    by_type: dict[str, list[PolicyResource]] = {}
    for r in args.resources:
        by_type.setdefault(r.resource_type, []).append(r)
    buckets = [b for t in BUCKETS for b in by_type.get(t, [])]
    blocks = by_type.get(PUBLIC_ACCESS_BLOCK, [])
    sse = [s for t in SSE_CONFIGS for s in by_type.get(t, [])]
    acls = [a for t in BUCKET_ACLS for a in by_type.get(t, [])]
    allowed = set(config.allowed_sse_algorithms)
    for bucket in buckets:
        mine = [b for b in blocks if _targets(b, bucket, buckets)]
        missing = sorted(
            {flag for flag in PUBLIC_ACCESS_FLAGS if not any(truthy(get(b.props, flag)) for b in mine)}
        )
        if not mine:
            report(
                f"bucket {bucket.name!r} has no public access block; add an "
                "aws.s3.BucketPublicAccessBlock with all four flags true",
                bucket.urn,
            )
        elif missing:
            report(
                f"bucket {bucket.name!r}'s public access block leaves {', '.join(missing)} off; set "
                "them to true",
                bucket.urn,
            )
        acl_values = [get(bucket.props, "acl")] + [
            get(a.props, "acl") for a in acls if _targets(a, bucket, buckets)
        ]
        public = sorted({a for a in acl_values if isinstance(a, str) and a in PUBLIC_ACLS})
        if public:
            report(
                f"bucket {bucket.name!r} has a public ACL ({', '.join(public)}); use 'private'", bucket.urn
            )
        algorithms: list[str] = []
        inline = get(
            bucket.props, "serverSideEncryptionConfiguration.rule.applyServerSideEncryptionByDefault"
        )
        if isinstance(get(inline, "sseAlgorithm"), str):
            algorithms.append(get(inline, "sseAlgorithm"))
        for conf in sse:
            if _targets(conf, bucket, buckets):
                algorithms.extend(_sse_algorithms(conf.props))
        if not algorithms:
            report(
                f"bucket {bucket.name!r} has no default encryption; add an "
                "aws.s3.BucketServerSideEncryptionConfiguration (aws:kms or AES256)",
                bucket.urn,
            )
        elif not any(a in allowed for a in algorithms):
            report(
                f"bucket {bucket.name!r} encrypts with {', '.join(sorted(set(algorithms)))}, not one of "
                f"{', '.join(sorted(allowed))}",
                bucket.urn,
            )


bucket_private_encrypted = stack_policy(
    name="bucket-private-encrypted",
    description="Every S3 bucket blocks public access and encrypts objects by default.",
    remediation=(
        "Give each bucket an aws.s3.BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, "
        "ignorePublicAcls and restrictPublicBuckets all true, no public ACL, and an "
        "aws.s3.BucketServerSideEncryptionConfiguration whose rule sets sseAlgorithm aws:kms or AES256."
    ),
    config=BucketConfig,
    check=check_buckets,
)
