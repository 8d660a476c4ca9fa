"""(a) Every policy, called directly on what a mocks run of each stack file records: all pass."""

from __future__ import annotations

import pytest
from policy_helpers import EC2, ROOT_DIR, SELF_HOSTED, STACKS, report, resources

from policies.pack import POLICIES

# What the policies must have had to look at, so "passed" is not "saw nothing".
EXPECTED_TYPES = {
    "docpipe:placement:Lambda",
    "docpipe:placement:CloudRun",
    "aws:lambda/function:Function",
    "gcp:cloudrunv2/workerPool:WorkerPool",
    "aws:rds/instance:Instance",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:ec2/securityGroup:SecurityGroup",
}


@pytest.mark.parametrize("stack", STACKS)
def test_stack_records_what_the_policies_judge(stack: str) -> None:
    kinds = {r.type for r in resources(stack)}
    assert kinds >= EXPECTED_TYPES
    roles = {r.inputs.get("role") for r in resources(stack) if r.type.startswith("docpipe:placement:")}
    assert roles == {"workflow", "extraction", "analysis", "enrichment", "storage"}


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("policy", [p.name for p in POLICIES])
def test_compliant_stack_passes_with_its_policy_config(stack: str, policy: str) -> None:
    outcome = report(resources(stack), ROOT_DIR / "policies" / f"{stack}.json", stack).outcome(policy)
    assert outcome.violations == ()
    assert outcome.not_applicable is None


@pytest.mark.parametrize("stack", STACKS)
def test_compliant_stack_passes_with_schema_defaults(stack: str) -> None:
    result = report(resources(stack), None, stack)
    assert result.passed and result.verdicts == []


def test_prod_with_a_role_on_ec2_passes() -> None:
    # The EC2 placement brings a launch template (IMDSv2, user data env file) and the cache.
    items = resources("prod", *EC2)
    assert {"aws:ec2/launchTemplate:LaunchTemplate", "aws:elasticache/serverlessCache:ServerlessCache"} <= {
        r.type for r in items
    }
    result = report(items, ROOT_DIR / "policies" / "prod.json", "prod")
    assert result.verdicts == []


def test_prod_with_self_hosted_temporal_passes() -> None:
    # The Temporal server instance fetches its database secret at boot (SECRET=$(aws ...)).
    items = resources("prod", *SELF_HOSTED)
    assert any(r.name == "temporal-server" for r in items)
    result = report(items, ROOT_DIR / "policies" / "prod.json", "prod")
    assert result.verdicts == []
