"""Security policies: private and encrypted data stores, least-privilege IAM, no exposed secrets.

Each policy is a named check function plus its `Policy` object; nothing here has side effects.
Messages name the resource and the property to change, and never repeat a secret's value.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
)

from policies.common import resource_policy, stack_policy
from policies.props import UNKNOWN, elements, get, items, number, plain, policy_document, truthy
from policies.resource_types import (
    BUCKET_ACLS,
    BUCKETS,
    CACHE_CLUSTER,
    CLOUD_RUN_JOB,
    CLOUD_RUN_SERVICE,
    CLOUD_RUN_WORKER_POOL,
    EC2_INSTANCE,
    IAM_ATTACHMENTS,
    IAM_INLINE,
    IAM_POLICY,
    IAM_ROLE,
    LAMBDA_FUNCTION,
    LAUNCH_TEMPLATE,
    PUBLIC_ACCESS_BLOCK,
    RDS_CLUSTER,
    RDS_INSTANCE,
    REPLICATION_GROUP,
    SECURITY_GROUP,
    SECURITY_GROUP_RULE,
    SERVERLESS_CACHE,
    SSE_CONFIGS,
    VPC_INGRESS_RULE,
)

PUBLIC_ACLS = {"public-read", "public-read-write", "authenticated-read"}
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
# AWS-managed policies that grant every action of a service (or of all services).
BROAD_MANAGED_POLICY = re.compile(r":policy/(AdministratorAccess|PowerUserAccess|[A-Za-z0-9]*FullAccess)$")


# --- database and cache -----------------------------------------------------------------------


def check_database(args: ResourceValidationArgs, config: Mapping[str, Any], report: ReportViolation) -> None:
    """RDS: not publicly accessible (unless allowed), storage encrypted, no plaintext master password."""
    props = args.props
    public = args.resource_type == RDS_INSTANCE and truthy(get(props, "publiclyAccessible"))
    if public and not config["allowPubliclyAccessible"]:
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
    if password not in (None, UNKNOWN, "") and config["requireManagedPassword"]:
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
    check=check_database,
    properties={
        "allowPubliclyAccessible": {
            "type": "boolean",
            "default": False,
            "description": "Accept publiclyAccessible=true (only with reachability public-tls and "
            "allowedCidrs; TLS is required by the parameter group).",
        },
        "requireManagedPassword": {
            "type": "boolean",
            "default": True,
            "description": "Reject a master password given in the resource inputs.",
        },
    },
)


def check_cache(args: ResourceValidationArgs, config: Mapping[str, Any], report: ReportViolation) -> None:
    """ElastiCache: TLS in transit (required, not merely preferred), encrypted at rest, and auth."""
    props = args.props
    name = args.name
    if args.resource_type == SERVERLESS_CACHE:
        # Serverless caches always use TLS and encrypt at rest; auth needs a user group.
        user_group = get(props, "userGroupId")
        if config["requireAuth"] and user_group in (None, ""):
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
    if config["requireAuth"] and not has_token and not groups:
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
    check=check_cache,
    properties={
        "requireAuth": {
            "type": "boolean",
            "default": True,
            "description": "Require credentials (AUTH token or RBAC user group) for cache clients.",
        },
    },
)


# --- buckets ----------------------------------------------------------------------------------


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


def check_buckets(args: StackValidationArgs, config: Mapping[str, Any], report: ReportViolation) -> None:
    """Every bucket has a full public access block, no public ACL, and default encryption."""
    by_type: dict[str, list[PolicyResource]] = {}
    for r in args.resources:
        by_type.setdefault(r.resource_type, []).append(r)
    buckets = [b for t in BUCKETS for b in by_type.get(t, [])]
    blocks = by_type.get(PUBLIC_ACCESS_BLOCK, [])
    sse = [s for t in SSE_CONFIGS for s in by_type.get(t, [])]
    acls = [a for t in BUCKET_ACLS for a in by_type.get(t, [])]
    allowed = set(config["allowedSseAlgorithms"])
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
    check=check_buckets,
    properties={
        "allowedSseAlgorithms": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["aws:kms", "aws:kms:dsse", "AES256"],
            "description": "Server-side encryption algorithms accepted as default bucket encryption.",
        },
    },
)


# --- IAM --------------------------------------------------------------------------------------


def wildcard_actions(document: Mapping[str, Any]) -> list[str]:
    """The wildcard actions an IAM document allows: `*`, `service:*`, or any `NotAction` allow."""
    statements = document.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    found: list[str] = []
    for statement in statements if isinstance(statements, list) else []:
        if not isinstance(statement, Mapping) or statement.get("Effect", "Allow") != "Allow":
            continue
        actions = statement.get("Action", [])
        for action in [actions] if isinstance(actions, str) else actions or []:
            if isinstance(action, str) and (action.strip() == "*" or action.strip().endswith(":*")):
                found.append(action.strip())
        if "NotAction" in statement:
            found.append("NotAction (allows every action not listed)")
    return found


def _documents(args: ResourceValidationArgs) -> Iterator[tuple[str, Any]]:
    props = args.props
    if args.resource_type == IAM_ROLE:
        for inline in elements(get(props, "inlinePolicies")):
            yield f"inline policy {get(inline, 'name') or '(unnamed)'!s}", get(inline, "policy")
    else:
        yield "policy", get(props, "policy")


def check_iam(args: ResourceValidationArgs, config: Mapping[str, Any], report: ReportViolation) -> None:
    """No statement allows a wildcard action; no broad AWS-managed policy is attached."""
    allowed = set(config["allowedWildcardActions"])
    if args.resource_type in IAM_ATTACHMENTS:
        arn = get(args.props, "policyArn")
        if isinstance(arn, str) and BROAD_MANAGED_POLICY.search(arn) and arn not in allowed:
            report(
                f"{args.name!r} attaches {arn.rsplit('/', 1)[-1]}, which grants wildcard actions; "
                "attach a policy listing the actions the role needs",
                None,
            )
        return
    for where, raw in _documents(args):
        document = policy_document(raw)
        if document is None:
            continue
        bad = [a for a in wildcard_actions(document) if a not in allowed]
        if bad:
            report(
                f"{args.name!r} {where} allows wildcard action(s) {', '.join(sorted(set(bad)))}; list "
                "the specific actions instead",
                None,
            )


iam_no_wildcard_actions = resource_policy(
    name="iam-no-wildcard-actions",
    description="No IAM statement allows a wildcard action ('*' or 'service:*').",
    remediation=(
        "Replace each wildcard with the actions the role uses (e.g. s3:GetObject, s3:PutObject on the "
        "document bucket; secretsmanager:GetSecretValue on the stack's secrets) and attach no "
        "AdministratorAccess, PowerUserAccess or *FullAccess managed policy."
    ),
    types=(IAM_POLICY, IAM_ROLE, *IAM_INLINE, *IAM_ATTACHMENTS),
    check=check_iam,
    properties={
        "allowedWildcardActions": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Wildcard actions (or managed policy ARNs) accepted anyway, e.g. 'logs:*'.",
        },
    },
)


# --- secrets in environment variables and user data -------------------------------------------

# Values that are credentials whatever the variable is called (no value is ever echoed).
SECRET_VALUE_PATTERNS = (
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bsk-(ant-|proj-)?[A-Za-z0-9_\-]{20,}"),  # Anthropic / OpenAI keys
    re.compile(r"\be2b_[A-Za-z0-9]{20,}"),  # E2B
    re.compile(r"\b(ghp|gho|github_pat)_[A-Za-z0-9_]{20,}"),  # GitHub tokens
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),  # Slack tokens
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"),  # user:password@ in a URL
)
# Values that only *point at* a secret: fetching it at run time is what we want.
REFERENCE_VALUE = re.compile(
    r"^(arn:aws[a-z-]*:(secretsmanager|ssm|kms):|projects/[^/]+/secrets/|\[placeholder\]$|\{\{resolve:)"
)


# Words that, glued to a short marker, still name a secret (APIKEY, AUTHTOKEN).
GLUED_PREFIXES = ("API", "AUTH", "ACCESS", "PRIVATE", "CLIENT", "SECRET", "SESSION", "BEARER")
# Values a shell expands when the instance boots (SECRET=$(aws secretsmanager get-secret-value ...)):
# the secret is fetched at run time, which is the point.
RUNTIME_VALUE = re.compile(r"^(\$[({A-Za-z_]|`)")
# Values that are settings, not secrets, whatever the variable is called (USE_API_KEY=true).
PLAIN_SETTING = re.compile(r"^(true|false|yes|no|on|off|none|null|-?\d+(\.\d+)?)$", re.IGNORECASE)


def secret_name(name: str, markers: list[str], allowed: set[str]) -> bool:
    """Whether an environment variable's name says it holds a secret (`E2B_API_KEY`, `DB_PASSWORD`).

    Names that end in a reference suffix (`_ARN`, `_REF`, `_REFS`, `_ID`, `_NAME`) hold pointers.
    """
    upper = name.upper()
    if name in allowed or re.search(r"_(ARN|ARNS|REF|REFS|ID|NAME|NAMES|URL|HOST)$", upper):
        return False
    words = re.split(r"[^A-Z0-9]+", upper)
    for marker in (m.upper() for m in markers):
        # A whole word (API_KEY, DB_PASSWORD), or glued on where it still reads as one (APIKEY,
        # DBPASSWORD) — but not MONKEY or TURKEY.
        glued = len(marker) >= 6 or any(upper.endswith(p + marker) for p in GLUED_PREFIXES)
        if marker in words or (glued and upper.endswith(marker)):
            return True
    return False


def secret_problem(name: str, value: Any, config: Mapping[str, Any]) -> str | None:
    """Why `name=value` is a plaintext secret, or None. Never includes the value."""
    if value is UNKNOWN or value is None:
        return None
    text = str(value)
    if not text or REFERENCE_VALUE.match(text) or PLAIN_SETTING.match(text) or RUNTIME_VALUE.match(text):
        return None
    if any(p.search(text) for p in SECRET_VALUE_PATTERNS):
        return "its value looks like a credential"
    if secret_name(name, list(config["nameMarkers"]), set(config["allowedNames"])):
        return "its name says it holds a secret"
    return None


def decode_user_data(text: str) -> str:
    try:
        decoded = base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return text
    return decoded


ASSIGNMENT = re.compile(
    r"""(?:^|[\s;'"])(?:export\s+|-e\s+|--env\s+)?([A-Za-z_][A-Za-z0-9_]*)=(['"]?)([^\s'";]+)\2"""
)


def _environment(args: ResourceValidationArgs) -> Iterator[tuple[str, str, Any]]:
    """(where, variable name, value) for each plain environment variable of a compute resource."""
    props = args.props
    kind = args.resource_type
    if kind == LAMBDA_FUNCTION:
        for name, value in items(get(props, "environment.variables")):
            yield "environment variable", name, value
    elif kind in (LAUNCH_TEMPLATE, EC2_INSTANCE):
        for key in ("userData", "userDataBase64"):
            data = get(props, key)
            if isinstance(data, str) and data:
                for match in ASSIGNMENT.finditer(decode_user_data(data)):
                    yield "user data variable", match.group(1), match.group(3)
    elif kind in (CLOUD_RUN_WORKER_POOL, CLOUD_RUN_SERVICE, CLOUD_RUN_JOB):
        template = get(props, "template.template") if kind == CLOUD_RUN_JOB else get(props, "template")
        for container in elements(get(template, "containers")):
            for env in elements(get(container, "envs")):
                name = get(env, "name")
                # Only a plain `value` is plaintext; `valueSource.secretKeyRef` is Secret Manager.
                if isinstance(name, str) and get(env, "value") is not None:
                    yield "environment variable", name, get(env, "value")


def check_secrets(args: ResourceValidationArgs, config: Mapping[str, Any], report: ReportViolation) -> None:
    """No environment variable (Lambda, Cloud Run) or user-data assignment holds a secret in plaintext."""
    for where, name, value in _environment(args):
        why = secret_problem(name, value, config)
        if why:
            report(
                f"{args.name!r} {where} {name} carries a secret in plaintext ({why}); pass a "
                "Secrets Manager ARN (DOCPIPE_SECRET_REFS) or a Secret Manager reference "
                "(valueSource.secretKeyRef) and let the worker fetch the value",
                None,
            )


no_plaintext_secrets = resource_policy(
    name="no-plaintext-secrets",
    description="No secret is set in plaintext in environment variables or instance user data.",
    remediation=(
        "Store the secret in AWS Secrets Manager (or GCP Secret Manager) and pass only its ARN / "
        "resource name: DOCPIPE_SECRET_REFS for Lambda and EC2, env valueSource.secretKeyRef on Cloud Run."
    ),
    types=(
        LAMBDA_FUNCTION,
        LAUNCH_TEMPLATE,
        EC2_INSTANCE,
        CLOUD_RUN_WORKER_POOL,
        CLOUD_RUN_SERVICE,
        CLOUD_RUN_JOB,
    ),
    check=check_secrets,
    properties={
        "nameMarkers": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["KEY", "SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL", "CREDENTIALS"],
            "description": "Words in a variable name that mark it as a secret (API_KEY, DB_PASSWORD).",
        },
        "allowedNames": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Variable names that look secret but are not (e.g. PUBLIC_KEY_ID).",
        },
    },
)


# --- network ----------------------------------------------------------------------------------

OPEN_NETWORKS = {"0.0.0.0/0", "::/0"}


def _is_open(cidr: Any) -> bool:
    if not isinstance(cidr, str):
        return False
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return cidr.strip() in OPEN_NETWORKS


def _ports(rule: Any) -> str:
    low, high = number(get(rule, "fromPort")), number(get(rule, "toPort"))
    protocol = get(rule, "protocol", get(rule, "ipProtocol"))
    if protocol in ("-1", -1, "all") or (low in (None, 0.0, -1.0) and high in (None, 0.0, 65535.0, -1.0)):
        return "all ports"
    if low == high or high is None:
        return f"port {int(low or 0)}"
    return f"ports {int(low or 0)}-{int(high)}"


def _allowed_port(rule: Any, allowed: list[Any]) -> bool:
    low, high = number(get(rule, "fromPort")), number(get(rule, "toPort"))
    ports = {number(p) for p in allowed}
    return low is not None and low == high and low in ports


def check_ingress(args: ResourceValidationArgs, config: Mapping[str, Any], report: ReportViolation) -> None:
    """No ingress rule admits the whole internet (0.0.0.0/0 or ::/0)."""
    props = args.props
    rules: list[tuple[Any, list[Any]]] = []
    if args.resource_type == SECURITY_GROUP:
        for rule in elements(get(props, "ingress")):
            rules.append((rule, [*elements(get(rule, "cidrBlocks")), *elements(get(rule, "ipv6CidrBlocks"))]))
    elif args.resource_type == SECURITY_GROUP_RULE:
        if get(props, "type") == "ingress":
            rules.append(
                (props, [*elements(get(props, "cidrBlocks")), *elements(get(props, "ipv6CidrBlocks"))])
            )
    elif args.resource_type == VPC_INGRESS_RULE:
        rules.append((props, [get(props, "cidrIpv4"), get(props, "cidrIpv6")]))
    for rule, cidrs in rules:
        open_cidrs = sorted({str(c).strip() for c in cidrs if _is_open(c)})
        if open_cidrs and not _allowed_port(rule, list(config["allowedPorts"])):
            report(
                f"{args.name!r} allows ingress from {', '.join(open_cidrs)} on {_ports(rule)}; "
                "restrict the source to the VPC or a security group",
                None,
            )


no_open_ingress = resource_policy(
    name="no-open-ingress",
    description="No security group admits ingress from 0.0.0.0/0 or ::/0.",
    remediation=(
        "Workers only poll outwards, so their security groups need no ingress; the database and cache "
        "take ingress from the workers' security group (sourceSecurityGroupId / referencedSecurityGroupId) "
        "or the VPC CIDR, never from 0.0.0.0/0."
    ),
    types=(SECURITY_GROUP, SECURITY_GROUP_RULE, VPC_INGRESS_RULE),
    check=check_ingress,
    properties={
        "allowedPorts": {
            "type": "array",
            "items": {"type": "number"},
            "default": [],
            "description": "Single ports that may be open to the internet (e.g. 443 for a public endpoint).",
        },
    },
)


def check_imdsv2(args: ResourceValidationArgs, config: Mapping[str, Any], report: ReportViolation) -> None:
    """Instances require IMDSv2 session tokens (httpTokens 'required')."""
    options = get(args.props, "metadataOptions")
    if options is UNKNOWN:
        return
    if get(options, "httpEndpoint") == "disabled":
        return  # no metadata service at all, so no IMDSv1 either
    tokens = get(options, "httpTokens")
    if tokens != "required":
        report(
            f"{args.name!r} allows IMDSv1 (metadataOptions.httpTokens={tokens!r}); set "
            "metadataOptions.httpTokens='required'",
            None,
        )
    hops = number(get(options, "httpPutResponseHopLimit"))
    limit = number(config["maxPutResponseHopLimit"])
    if hops is not None and limit is not None and hops > limit:
        report(
            f"{args.name!r} has metadataOptions.httpPutResponseHopLimit={int(hops)}; at most {int(limit)} "
            "keeps credentials from leaking past the container network",
            None,
        )


ec2_imdsv2_required = resource_policy(
    name="ec2-imdsv2-required",
    description="EC2 instances and launch templates require IMDSv2 (metadata session tokens).",
    remediation=(
        "Set metadataOptions={'httpTokens': 'required', 'httpEndpoint': 'enabled', "
        "'httpPutResponseHopLimit': 2} on the launch template (2 hops lets the worker container reach it)."
    ),
    types=(LAUNCH_TEMPLATE, EC2_INSTANCE),
    check=check_imdsv2,
    properties={
        "maxPutResponseHopLimit": {
            "type": "number",
            "default": 2,
            "description": "Highest accepted httpPutResponseHopLimit (2 lets a container on the instance "
            "use the metadata service).",
        },
    },
)

SECURITY_POLICIES = [
    database_private_encrypted,
    cache_private_encrypted,
    bucket_private_encrypted,
    iam_no_wildcard_actions,
    no_plaintext_secrets,
    no_open_ingress,
    ec2_imdsv2_required,
]
