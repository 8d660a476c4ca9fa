"""serverless-scales-to-zero and lambda-timeout-fits-activity: variants, messages, config."""

from __future__ import annotations

import pytest
from policy_helpers import EC2, WARM, edit, messages, resources

from policies.runner import StackResource

LAMBDA = "aws:lambda/function:Function"


def test_cloud_run_min_instances_fails() -> None:
    warm = [m for m in messages("serverless-scales-to-zero", resources("prod", *WARM)) if "Cloud Run" in m]
    assert warm == [
        "role extraction (cloudrun, 'extraction-cloudrun-pool') keeps 1 Cloud Run instance(s) running while "
        "idle (cloudrun.minInstances=1); set cloudrun.minInstances to 0"
    ]


def test_scaler_owned_instance_count_is_not_the_floor() -> None:
    # Temporal's scaler raised the live count (seen after a refresh); the floor is still 0.
    busy = edit(
        resources("prod"),
        lambda r: r.name == "extraction-cloudrun-pool",
        lambda p: p["scaling"].update(manualInstanceCount=3.0),
    )
    assert messages("serverless-scales-to-zero", busy) == []
    stray = StackResource(
        "gcp:cloudrunv2/workerPool:WorkerPool",
        "stray-pool",
        {"scaling": {"scalingMode": "MANUAL", "manualInstanceCount": 2.0}},
    )
    assert messages("serverless-scales-to-zero", [*busy, stray]) == [
        "'stray-pool' keeps 2 Cloud Run instance(s) running while idle (scaling.manualInstanceCount=2); set "
        "cloudrun.minInstances to 0"
    ]


def test_automatic_scaling_min_instances_fails() -> None:
    items = edit(
        resources("prod"),
        lambda r: r.name == "analysis-cloudrun-pool",
        lambda p: p.update(
            scaling={"scalingMode": "AUTOMATIC", "minInstanceCount": 2.0, "maxInstanceCount": 3.0}
        ),
    )
    found = messages("serverless-scales-to-zero", items)
    assert len(found) == 1 and "role analysis" in found[0] and "scaling.minInstanceCount=2" in found[0]


def test_provisioned_lambda_concurrency_fails() -> None:
    warm = [m for m in messages("serverless-scales-to-zero", resources("prod", *WARM)) if "Lambda" in m]
    assert warm == [
        "role enrichment (lambda, 'enrichment-lambda-provisioned') keeps 2 Lambda execution environment(s) "
        "provisioned (provisionedConcurrentExecutions=2), billed around the clock; set "
        "lambda.provisionedConcurrency to 0"
    ]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"allowProvisionedConcurrency": True}, 1),  # the Cloud Run instance still fails
        ({"allowMinInstances": True}, 1),  # the provisioned concurrency still fails
        ({"allowProvisionedConcurrency": True, "allowMinInstances": True}, 0),
        ({"exemptRoles": ["extraction", "enrichment"]}, 0),
        ({"exemptRoles": ["workflow"]}, 2),
    ],
)
def test_scale_to_zero_config(config: dict[str, object], expected: int) -> None:
    assert len(messages("serverless-scales-to-zero", resources("prod", *WARM), config)) == expected


def test_ec2_roles_are_not_serverless() -> None:
    assert messages("serverless-scales-to-zero", resources("prod", *EC2)) == []


def _timeout(items: list[StackResource], function: str, seconds: float) -> list[StackResource]:
    return edit(items, lambda r: r.type == LAMBDA and r.name == function, lambda p: p.update(timeout=seconds))


def test_lambda_timeout_too_short_fails() -> None:
    short = _timeout(resources("prod"), "enrichment-lambda-function", 120.0)
    assert messages("lambda-timeout-fits-activity", short) == [
        "role enrichment: Lambda 'enrichment-lambda-function' has timeout 120 s, which does not cover the "
        "enrichment activity timeout (300 s) plus the worker's deadline buffer (304 s: graceful stop 302 s "
        "+ 2 s for shutdown hooks) plus 1 s = 605 s; set docpipe:activities.enrichment.lambda.timeoutSeconds "
        "to at least 605 (max 900) or shorten activityTimeoutSeconds"
    ]


def _activity_timeout(items: list[StackResource], seconds: float) -> list[StackResource]:
    return edit(
        items,
        lambda r: r.type == "docpipe:placement:Lambda" and r.name == "enrichment-lambda",
        lambda p: p.update(activityTimeoutSeconds=seconds),
    )


def test_the_requirement_follows_the_placements_activity_timeout() -> None:
    # The function's 605 s holds a 300 s activity (2 × 300 + 5), not a 400 s one (805 s).
    assert messages("lambda-timeout-fits-activity", _activity_timeout(resources("prod"), 300.0)) == []
    found = messages("lambda-timeout-fits-activity", _activity_timeout(resources("prod"), 400.0))
    assert len(found) == 1 and "activity timeout (400 s)" in found[0] and "= 805 s" in found[0]


def test_workflow_lambda_needs_a_task_plus_buffer() -> None:
    short = _timeout(resources("dev"), "workflow-lambda-function", 12.0)
    assert messages("lambda-timeout-fits-activity", short) == [
        "role workflow: Lambda 'workflow-lambda-function' has timeout 12 s, which does not cover a workflow "
        "task (10 s) plus the worker's deadline buffer (14 s: graceful stop 12 s + 2 s for shutdown hooks) "
        "plus 1 s = 25 s; set docpipe:activities.workflow.lambda.timeoutSeconds to at least 25 (max 900) or "
        "shorten activityTimeoutSeconds"
    ]
    # The rule's numbers are the Lambda target's (one source); the policy config can only lower the cap.
    with pytest.raises(ValueError, match="workflowTaskSeconds"):
        messages("lambda-timeout-fits-activity", short, {"workflowTaskSeconds": 5})


def test_missing_timeout_means_the_aws_default_of_3_s() -> None:
    items = edit(
        resources("dev"),
        lambda r: r.type == LAMBDA and r.name == "storage-lambda-function",
        lambda p: p.pop("timeout"),
    )
    found = messages("lambda-timeout-fits-activity", items)
    assert len(found) == 1 and "has timeout 3 s" in found[0]


def test_timeout_above_the_limit_fails() -> None:
    items = _timeout(resources("prod"), "storage-lambda-function", 1200.0)
    assert messages("lambda-timeout-fits-activity", items) == [
        "role storage: Lambda 'storage-lambda-function' has timeout 1200 s, above the 900 s limit; move "
        "storage to ec2 or cloudrun for longer activities"
    ]
    assert len(messages("lambda-timeout-fits-activity", items, {"maxTimeoutSeconds": 650})) == 1
    stray = [*items, StackResource(LAMBDA, "stray", {"timeout": 901.0})]
    assert "Lambda 'stray' has timeout 901 s, above the 900 s limit" in messages(
        "lambda-timeout-fits-activity", stray
    )
