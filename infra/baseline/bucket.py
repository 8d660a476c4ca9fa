"""The document bucket and the starter function its uploads trigger.

Private (public access block, bucket-owner objects), encrypted (SSE-S3, bucket key) and versioned.
Every `ObjectCreated` event under the upload prefix (`bucket.uploadPrefix`, default `incoming/`)
invokes a small Lambda from the worker image (command `workers.starter.handler`) that starts the
document's workflow; the workflow id comes from the document's sha256, so a re-upload does not start
a second run. Objects elsewhere (large payloads under `v0/`) start nothing.

On `pulumi destroy`: with `bucket.retainOnDestroy` (the default) the bucket and the settings that
keep it private and encrypted are retained (`retain_on_delete`: removed from the state, left in the
account with every document); otherwise the bucket is `force_destroy`ed, every object and version
with it.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from docpipe.config import BucketConfig
from docpipe.deployment import LOG_RETENTION_DAYS, STARTER_MEMORY_MB, STARTER_TIMEOUT_SECONDS
from infra.common import assume_role_policy, child, policy_document, tags
from infra.iam import starter_statements

STARTER_COMMAND = "workers.starter.handler"


class DocumentBucket(pulumi.ComponentResource):
    """The private, encrypted, versioned S3 bucket for documents and large payloads."""

    name: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(
        self, name: str, stack: str, config: BucketConfig, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            "docpipe:baseline:DocumentBucket", name, {"retainOnDestroy": config.retain_on_destroy}, opts
        )
        retain = config.retain_on_destroy
        self.upload_prefix = config.upload_prefix

        def keep() -> pulumi.ResourceOptions:
            # A retained bucket keeps its access block, ownership, encryption and versioning too: the
            # documents left behind stay private and encrypted.
            return child(self, retain_on_delete=True) if retain else child(self)

        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket_prefix=f"docpipe-{stack}-",
            force_destroy=not retain,
            tags=tags(stack, "bucket"),
            opts=keep(),
        )
        self.bucket = bucket
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=keep(),
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=keep(),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=keep(),
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=keep(),
        )
        self.name = bucket.bucket
        self.arn = bucket.arn
        self.register_outputs({"name": self.name, "arn": self.arn})


class Starter(pulumi.ComponentResource):
    """Lambda that starts a workflow for each uploaded document, and the bucket notification."""

    function_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        stack: str,
        bucket: DocumentBucket,
        image_uri: pulumi.Input[str],
        architecture: str,
        env: Mapping[str, pulumi.Input[str]],
        secret_arns: list[pulumi.Output[str]],
        vpc: tuple[list[pulumi.Output[str]], pulumi.Output[str]] | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("docpipe:baseline:Starter", name, {}, opts)
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/docpipe/{stack}/starter",
            retention_in_days=LOG_RETENTION_DAYS,
            opts=child(self),
        )
        role = aws.iam.Role(
            f"{name}-role", assume_role_policy=assume_role_policy("lambda.amazonaws.com"), opts=child(self)
        )
        # The starter's code paths (workers/aws_actions.py): new uploads, its secret refs, its logs.
        statements = starter_statements(
            bucket_arn=bucket.arn,
            upload_prefix=bucket.upload_prefix,
            log_group_arn=logs.arn,
            secret_arns=secret_arns,
            vpc=vpc is not None,
        )
        aws.iam.RolePolicy(
            f"{name}-policy", role=role.id, policy=policy_document(statements), opts=child(self)
        )
        vpc_config = None
        if vpc is not None:
            vpc_config = aws.lambda_.FunctionVpcConfigArgs(subnet_ids=vpc[0], security_group_ids=[vpc[1]])
        function = aws.lambda_.Function(
            f"{name}-function",
            package_type="Image",
            image_uri=image_uri,
            image_config=aws.lambda_.FunctionImageConfigArgs(commands=[STARTER_COMMAND]),
            architectures=[architecture],
            memory_size=STARTER_MEMORY_MB,
            timeout=STARTER_TIMEOUT_SECONDS,
            role=role.arn,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(env)),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=logs.name),
            vpc_config=vpc_config,
            tags=tags(stack, "starter"),
            opts=child(self),
        )
        permission = aws.lambda_.Permission(
            f"{name}-s3-invoke",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="s3.amazonaws.com",
            source_arn=bucket.arn,
            opts=child(self),
        )
        aws.s3.BucketNotification(
            f"{name}-notification",
            bucket=bucket.bucket.id,
            lambda_functions=[
                aws.s3.BucketNotificationLambdaFunctionArgs(
                    lambda_function_arn=function.arn,
                    events=["s3:ObjectCreated:*"],
                    filter_prefix=bucket.upload_prefix,
                )
            ],
            opts=child(self, depends_on=[permission]),
        )
        self.function_arn = function.arn
        self.register_outputs({"functionArn": self.function_arn})
