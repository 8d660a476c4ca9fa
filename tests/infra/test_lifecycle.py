"""Lifecycle under mocks: rollouts reach EC2 instances, `pulumi destroy` can finish, one upload prefix.

- The auto-scaling group follows its launch template's latest version number (not "$Latest", for
  which AWS starts no instance refresh), so a new image changes the group's own input.
- ECR is force-deleted; RDS deletion protection and the bucket's fate are explicit config choices;
  every final snapshot gets a name no earlier instance of the stack used.
- `bucket.uploadPrefix` reaches the S3 notification filter, the starter, every worker environment
  and the stack outputs.
- Valkey is declared in every stack.
"""

from __future__ import annotations

from collections.abc import Callable

from infra.offline import OfflineResult, Registered, unwrap
from workers.contract import Env

EC2_ROLE = ["activities.extraction.target=ec2"]
BUCKET_PARTS = (
    "documents-bucket",
    "documents-public-access-block",
    "documents-ownership",
    "documents-encryption",
    "documents-versioning",
)


def _asg_version(result: OfflineResult, role: str) -> str:
    return str(unwrap(result.named(f"{role}-ec2-asg").inputs)["launchTemplate"]["version"])


def test_asg_follows_the_launch_templates_latest_version(run: Callable[..., OfflineResult]) -> None:
    a = run("prod", [*EC2_ROLE, "imageTag=build-a"])
    b = run("prod", [*EC2_ROLE, "imageTag=build-b"])
    for result in (a, b):
        version = _asg_version(result, "extraction")
        assert version.isdigit() and version != "$Latest"
    # A new image is new user data, so a new template version, so a changed group input: the group's
    # instance refresh rolls the instances.
    assert _asg_version(a, "extraction") != _asg_version(b, "extraction")
    # The same image leaves the group alone.
    assert _asg_version(a, "extraction") == _asg_version(
        run("prod", [*EC2_ROLE, "imageTag=build-a"]), "extraction"
    )


def test_ecr_is_force_deleted(prod: OfflineResult) -> None:
    assert unwrap(prod.named("registry-ecr").inputs)["forceDelete"] is True


def _db(result: OfflineResult) -> dict:
    return unwrap(result.named("database-postgres").inputs)


def test_database_deletion_protection_is_explicit(run: Callable[..., OfflineResult]) -> None:
    assert _db(run("prod"))["deletionProtection"] is True  # the default: a destroy must be deliberate
    off = _db(run("prod", ["database.deletionProtection=false"]))
    assert off["deletionProtection"] is False


def test_final_snapshot_name_carries_a_suffix_from_the_state(prod: OfflineResult) -> None:
    db = _db(prod)
    assert db["skipFinalSnapshot"] is False
    suffix = prod.named("database-final-snapshot-suffix")
    assert suffix.type == "random:index/randomId:RandomId"
    name = db["finalSnapshotIdentifier"]
    assert name.startswith("docpipe-prod-final-") and len(name) > len("docpipe-prod-final-")
    # RDS rules: starts with a letter, letters/digits/hyphens, no "--", no trailing hyphen.
    assert name[0].isalpha() and "--" not in name and not name.endswith("-")
    assert all(c.isalnum() or c == "-" for c in name)


def _bucket_parts(result: OfflineResult) -> list[Registered]:
    return [result.named(n) for n in BUCKET_PARTS]


def test_a_retained_bucket_keeps_its_documents_and_stays_private(prod: OfflineResult) -> None:
    assert unwrap(prod.named("documents-bucket").inputs)["forceDestroy"] is False
    assert all(r.retain_on_delete for r in _bucket_parts(prod))


def test_a_bucket_not_retained_is_force_destroyed(run: Callable[..., OfflineResult]) -> None:
    result = run("prod", ["bucket.retainOnDestroy=false"])
    assert unwrap(result.named("documents-bucket").inputs)["forceDestroy"] is True
    assert not any(r.retain_on_delete for r in _bucket_parts(result))


def test_the_upload_prefix_is_one_key(run: Callable[..., OfflineResult]) -> None:
    for prefix in ("incoming/", "docs/in/"):
        result = run("prod", [f"bucket.uploadPrefix={prefix}"] if prefix != "incoming/" else [])
        notification = unwrap(result.named("starter-notification").inputs)
        assert [f["filterPrefix"] for f in notification["lambdaFunctions"]] == [prefix]
        starter = unwrap(result.named("starter-function").inputs)
        assert starter["environment"]["variables"][Env.UPLOAD_PREFIX] == prefix
        assert result.outputs["uploadPrefix"] == prefix
        # The workflow role's environment carries it too (`docpipe submit` run with it uploads there).
        workflow = unwrap(result.named("workflow-lambda-function").inputs)
        assert workflow["environment"]["variables"][Env.UPLOAD_PREFIX] == prefix


def test_valkey_is_in_every_stack(dev: OfflineResult, prod: OfflineResult) -> None:
    for result in (dev, prod):
        assert result.of_type("aws:elasticache/serverlessCache:ServerlessCache")
        assert result.outputs["valkeyUrl"].startswith("rediss://")


def test_roles_in_the_vpc_get_the_cache_and_cloud_run_roles_do_not(prod: OfflineResult) -> None:
    # prod: storage (Lambda, database) brings the NAT gateway, so enrichment's Lambda joins the VPC.
    assert prod.plan["enrichment"].joined_vpc_for_cache
    fn = unwrap(prod.named("enrichment-lambda-function").inputs)
    assert fn["vpcConfig"]["subnetIds"]
    assert fn["environment"]["variables"][Env.VALKEY_URL].startswith("rediss://")
    assert "valkeyAuth" in fn["environment"]["variables"][Env.SECRET_REFS]
    pool = unwrap(prod.named("analysis-cloudrun-pool").inputs)
    names = {e["name"] for e in pool["template"]["containers"][0]["envs"]}
    assert Env.VALKEY_URL not in names


def test_the_starter_may_read_exactly_the_configured_upload_prefix(run: Callable[..., OfflineResult]) -> None:
    import json

    result = run("prod", ["bucket.uploadPrefix=inbox/"])
    notification = unwrap(result.named("starter-notification").inputs)
    assert [f["filterPrefix"] for f in notification["lambdaFunctions"]] == ["inbox/"]
    policy = json.loads(unwrap(result.named("starter-policy").inputs)["policy"])
    reads = [s["Resource"] for s in policy["Statement"] if "s3:GetObject" in s["Action"]]
    assert reads == [["arn:aws:s3:::documents-bucket/inbox/*"]]
