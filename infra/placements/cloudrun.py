"""cloudrun: a Cloud Run worker pool that Temporal scales (to zero when idle).

The pool runs the worker image from Artifact Registry (`docpipe worker <role>`) as its own Google
service account, reads its secrets from Secret Manager by reference, and reaches AWS (bucket,
secrets) by assuming an IAM role that trusts that service account through web-identity federation
(accounts.google.com, subject = the account's unique id) — no static AWS keys in GCP. A second
service account, allowed only to resize this pool, is the one Temporal's scaler acts as.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from docpipe.plan import RolePlacement
from docpipe.targets.cloudrun import TARGET as CLOUD_RUN
from infra.baseline import Baseline
from infra.common import policy_document
from infra.env import SECRET_ENV, secret_names, worker_env
from infra.iam import role_statements
from infra.placements.base import Placement


class CloudRunPlacement(Placement):
    """Cloud Run worker pool for one role, its service accounts and its AWS federation role."""

    target = "cloudrun"
    type_token = "docpipe:placement:CloudRun"
    serverless = True

    def declare(self, placement: RolePlacement, baseline: Baseline) -> dict[str, Any]:
        sizing = CLOUD_RUN.sizing(placement)
        config = baseline.config
        gcp_config = config.gcp
        provider = baseline.gcp_provider
        if gcp_config is None or provider is None:
            raise ValueError(f"{placement.role} is on cloudrun but the stack has no gcp.project")
        gopts = self.opts(provider=provider)
        stack = config.stack
        short = f"dp-{stack}-{placement.role}"[:26]
        account = gcp.serviceaccount.Account(
            self.child_name("sa"),
            account_id=short,
            project=gcp_config.project,
            display_name=f"docpipe {stack} {placement.role} worker",
            opts=gopts,
        )
        member = pulumi.Output.concat("serviceAccount:", account.email)
        controller = gcp.serviceaccount.Account(
            self.child_name("scaler-sa"),
            account_id=f"{short}-sc",
            project=gcp_config.project,
            display_name=f"docpipe {stack} {placement.role} scaler (used by Temporal)",
            opts=gopts,
        )
        aws_role = self._aws_role(placement, baseline, account)

        envs: list[gcp.cloudrunv2.WorkerPoolTemplateContainerEnvArgs] = []
        plain = worker_env(placement, baseline)
        plain["AWS_ROLE_ARN"] = aws_role.arn
        plain["AWS_REGION"] = config.aws_region
        envs.extend(
            gcp.cloudrunv2.WorkerPoolTemplateContainerEnvArgs(name=k, value=v)
            for k, v in sorted(plain.items())
        )
        readers: list[pulumi.Resource] = []
        for name in secret_names(placement, baseline):
            secret_id = baseline.secrets.gcp_ids.get(name)
            if secret_id is None:
                continue
            readers.append(
                gcp.secretmanager.SecretIamMember(
                    self.child_name(f"reads-{name}"),
                    project=gcp_config.project,
                    secret_id=secret_id,
                    role="roles/secretmanager.secretAccessor",
                    member=member,
                    opts=gopts,
                )
            )
            envs.append(
                gcp.cloudrunv2.WorkerPoolTemplateContainerEnvArgs(
                    name=SECRET_ENV[name],
                    value_source=gcp.cloudrunv2.WorkerPoolTemplateContainerEnvValueSourceArgs(
                        secret_key_ref=gcp.cloudrunv2.WorkerPoolTemplateContainerEnvValueSourceSecretKeyRefArgs(
                            secret=secret_id, version="latest"
                        )
                    ),
                )
            )
        repo = baseline.registries.ar_repository
        if repo is not None:
            readers.append(
                gcp.artifactregistry.RepositoryIamMember(
                    self.child_name("pulls-image"),
                    project=gcp_config.project,
                    location=gcp_config.region,
                    repository=repo.name,
                    role="roles/artifactregistry.reader",
                    member=member,
                    opts=gopts,
                )
            )
        pool_name = f"docpipe-{stack}-{placement.role}"
        pool = gcp.cloudrunv2.WorkerPool(
            self.child_name("pool"),
            name=pool_name,
            project=gcp_config.project,
            location=gcp_config.region,
            deletion_protection=False,
            # Temporal's scaler sets the instance count between min and max (compute config);
            # Pulumi sets the starting point and then leaves it alone.
            scaling=gcp.cloudrunv2.WorkerPoolScalingArgs(
                scaling_mode="MANUAL", manual_instance_count=sizing.min_instances
            ),
            template=gcp.cloudrunv2.WorkerPoolTemplateArgs(
                service_account=account.email,
                containers=[
                    gcp.cloudrunv2.WorkerPoolTemplateContainerArgs(
                        image=baseline.image_ref("x86_64", cloud="gcp"),
                        commands=["docpipe"],
                        args=["worker", placement.role],
                        envs=envs,
                        resources=gcp.cloudrunv2.WorkerPoolTemplateContainerResourcesArgs(
                            limits={"cpu": str(sizing.cpu), "memory": f"{sizing.memory_mib}Mi"}
                        ),
                    )
                ],
            ),
            opts=self.opts(
                provider=provider, depends_on=readers, ignore_changes=["scaling.manualInstanceCount"]
            ),
        )
        gcp.cloudrunv2.WorkerPoolIamMember(
            self.child_name("scaler-can-resize"),
            project=gcp_config.project,
            location=gcp_config.region,
            name=pool.name,
            role="roles/run.developer",
            member=pulumi.Output.concat("serviceAccount:", controller.email),
            opts=gopts,
        )
        self.compute = {
            "provider": "gcp-cloud-run",
            "project": gcp_config.project,
            "region": gcp_config.region,
            "workerPool": pool_name,
            "serviceAccount": controller.email,
            # The scaler's settings, as the plan declares them (and the cost model prices them).
            **{k: v for k, v in placement.runtime().items() if k != "shutdownGraceSeconds"},
        }
        return {
            "target": self.target,
            "workerPool": pool.name,
            "serviceAccount": account.email,
            "awsRoleArn": aws_role.arn,
        }

    def _aws_role(
        self, placement: RolePlacement, baseline: Baseline, account: gcp.serviceaccount.Account
    ) -> aws.iam.Role:
        trust = pulumi.Output.json_dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": "accounts.google.com"},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {
                            "StringEquals": {
                                "accounts.google.com:sub": account.unique_id,
                                "accounts.google.com:aud": account.unique_id,
                            }
                        },
                    }
                ],
            }
        )
        role = aws.iam.Role(
            self.child_name("aws-role"),
            description=f"docpipe {placement.role} on Cloud Run: federated from its Google service account",
            assume_role_policy=trust,
            opts=self.opts(),
        )
        # The actions of the code paths this role runs (workers/aws_actions.py), nothing else.
        statements = role_statements(placement, baseline)
        aws.iam.RolePolicy(
            self.child_name("aws-policy"), role=role.id, policy=policy_document(statements), opts=self.opts()
        )
        return role
