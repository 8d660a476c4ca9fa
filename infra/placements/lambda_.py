"""lambda: a Temporal Serverless Worker (container-image Lambda invoked by Temporal).

The function runs the worker image with the command `workers.lambda_handler.handler`
(temporalio.contrib.aws.lambda_worker). Temporal invokes it when tasks arrive on the role's queue,
through an IAM role it assumes: the trust goes to Temporal Cloud's worker-controller roles (cloud),
the self-hosted server's instance role (self-hosted) or this account (external, to be delegated),
always with an external id that pulumi-random generates and Pulumi keeps secret. Memory, timeout,
architecture and reserved concurrency come from the role's sizing; the function joins the VPC only
when the plan says so (database or a self-hosted Temporal).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from docpipe.deployment import LOG_RETENTION_DAYS
from docpipe.plan import RolePlacement
from docpipe.targets.lambda_ import TARGET as LAMBDA
from infra.baseline import Baseline
from infra.common import as_secret, assume_role_policy, policy_document, tags
from infra.env import worker_env
from infra.iam import invoke_statements, role_statements
from infra.placements.base import Placement

HANDLER_COMMAND = "workers.lambda_handler.handler"
# The roles Temporal Cloud's worker controller invokes from (Temporal's "Serverless Worker role"
# CloudFormation template, docs.temporal.io/production-deployment/worker-deployments/serverless-workers).
TEMPORAL_CLOUD_PRINCIPALS = (
    "arn:aws:iam::902542641901:role/wci-lambda-invoke",
    "arn:aws:iam::160190466495:role/wci-lambda-invoke",
    "arn:aws:iam::819232936619:role/wci-lambda-invoke",
    "arn:aws:iam::829909441867:role/wci-lambda-invoke",
    "arn:aws:iam::354116250941:role/wci-lambda-invoke",
)


class LambdaPlacement(Placement):
    """Container-image Lambda worker for one role, and the role Temporal assumes to invoke it."""

    target = "lambda"
    type_token = "docpipe:placement:Lambda"
    serverless = True

    def declare(self, placement: RolePlacement, baseline: Baseline) -> dict[str, Any]:
        sizing = LAMBDA.sizing(placement)
        stack = baseline.config.stack
        logs = aws.cloudwatch.LogGroup(
            self.child_name("logs"),
            name=f"/docpipe/{stack}/{placement.role}-lambda",
            retention_in_days=LOG_RETENTION_DAYS,
            opts=self.opts(),
        )
        role = aws.iam.Role(
            self.child_name("role"),
            assume_role_policy=assume_role_policy("lambda.amazonaws.com"),
            opts=self.opts(),
        )
        # The actions of the code paths this role runs here (workers/aws_actions.py; ENI management
        # when VPC-attached), nothing else.
        statements = role_statements(placement, baseline, log_group_arn=logs.arn)
        role_policy = aws.iam.RolePolicy(
            self.child_name("policy"), role=role.id, policy=policy_document(statements), opts=self.opts()
        )
        vpc_config = None
        if placement.vpc_attached:
            vpc_config = aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=baseline.network.private_subnet_ids, security_group_ids=[baseline.lambda_sg_id]
            )
        env = worker_env(placement, baseline)
        image = baseline.image_ref(sizing.architecture)
        function = aws.lambda_.Function(
            self.child_name("function"),
            package_type="Image",
            image_uri=image,
            image_config=aws.lambda_.FunctionImageConfigArgs(commands=[HANDLER_COMMAND]),
            architectures=[sizing.architecture],
            memory_size=sizing.memory_mb,
            timeout=sizing.timeout_seconds,
            reserved_concurrent_executions=sizing.reserved_concurrency,
            # Every deploy that changes the function publishes a version: Temporal is given that
            # version's qualified ARN, never $LATEST (an unqualified ARN would let a new build serve
            # workflows started on the old one: non-determinism errors).
            publish=True,
            role=role.arn,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=env),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=logs.name),
            vpc_config=vpc_config,
            tags=tags(stack, self.component_name),
            # A VPC function's ENI rights are checked when it is created: its policy must exist first.
            opts=self.opts(depends_on=[role_policy]),
        )
        if sizing.provisioned_concurrency > 0:
            aws.lambda_.ProvisionedConcurrencyConfig(
                self.child_name("provisioned"),
                function_name=function.name,
                qualifier=function.version,
                provisioned_concurrent_executions=sizing.provisioned_concurrency,
                opts=self.opts(),
            )
        invoke_role, external_id = self._invoke_role(placement, baseline, function)
        self.compute = {
            "provider": "aws-lambda",
            "arn": function.qualified_arn,
            "role": invoke_role.arn,
            "roleExternalId": external_id,
        }
        return {
            "target": self.target,
            "functionArn": function.arn,
            "functionVersionArn": function.qualified_arn,
            "functionName": function.name,
            "invokeRoleArn": invoke_role.arn,
            "image": image,
        }

    def _invoke_role(
        self, placement: RolePlacement, baseline: Baseline, function: aws.lambda_.Function
    ) -> tuple[aws.iam.Role, pulumi.Output[str]]:
        stack = baseline.config.stack
        # Secret in state and in the trust policy input (the engine would mark `result` secret; say so
        # explicitly so the program does not depend on it).
        generated = random.RandomPassword(
            self.child_name("external-id"), length=32, special=False, opts=self.opts()
        )
        external_id = as_secret(generated.result)
        mode = baseline.config.temporal.mode
        principal: pulumi.Input[Any]
        if mode == "cloud":
            principal = list(TEMPORAL_CLOUD_PRINCIPALS)
        elif mode == "self-hosted" and baseline.temporal.server_role_arn is not None:
            principal = baseline.temporal.server_role_arn
        else:
            account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
            principal = pulumi.Output.concat("arn:aws:iam::", account.account_id, ":root")
        trust = pulumi.Output.json_dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": principal},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
                    }
                ],
            }
        )
        role = aws.iam.Role(
            self.child_name("temporal-invoke"),
            name=f"docpipe-{stack}-{placement.role}-temporal-invoke",
            description=f"Temporal invokes the docpipe {placement.role} Lambda worker",
            assume_role_policy=trust,
            max_session_duration=3600,
            opts=self.opts(),
        )
        aws.iam.RolePolicy(
            self.child_name("temporal-invoke-policy"),
            role=role.id,
            policy=policy_document(invoke_statements(function.arn)),
            opts=self.opts(),
        )
        return role, external_id
