"""cloudrun: a Cloud Run worker pool per build, scaled by Temporal or by CREMA (to zero when idle).

The pool (`docpipe-<stack>-<role>-<build>`: one pool per build, as Temporal's Cloud Run guide asks)
runs the worker image from Artifact Registry by digest (`docpipe worker <role>`) as its own Google
service account, reads its secrets from Secret Manager by reference (after their versions exist),
and reaches AWS (bucket, secrets) by assuming an IAM role that trusts that service account through
web-identity federation (accounts.google.com, subject and audience = the account's unique id, which
the worker sends as DOCPIPE_AWS_WEB_IDENTITY_AUDIENCE; docs/cloud-run-aws-access.md) — no static AWS
keys in GCP.

Who resizes the pool is the plan's `scaler` (docpipe/targets/cloudrun.py):
- `temporal`: a scaler service account allowed only to resize this pool (`run.developer`) and to act
  as its runtime account (`iam.serviceAccountUser`); Temporal's principal
  (`temporal.cloudRunPrincipal`) may mint its tokens (`iam.serviceAccountTokenCreator`). The compute
  config (`self.compute`) carries the five scaling settings from the plan's runtime().
- `crema`: no compute config; the stack's one CREMA service (infra/crema.py, declared by `shared`)
  scales every such pool.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from docpipe.plan import RolePlacement
from docpipe.targets.cloudrun import TARGET as CLOUD_RUN
from docpipe.targets.cloudrun import pool_name
from infra.baseline import Baseline
from infra.common import policy_document
from infra.crema import Crema, ScaledPool
from infra.env import SECRET_ENV, secret_names, worker_env
from infra.iam import role_statements
from infra.placements.base import Placement
from workers.contract import Env


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
        services = baseline.gcp_services

        def needs(*apis: str) -> list[pulumi.Resource]:
            return services.of(*apis) if services is not None else []

        gopts = self.opts(provider=provider)
        stack = config.stack
        short = f"dp-{stack}-{placement.role}"[:26]
        account = gcp.serviceaccount.Account(
            self.child_name("sa"),
            account_id=short,
            project=gcp_config.project,
            display_name=f"docpipe {stack} {placement.role} worker",
            opts=self.opts(provider=provider, depends_on=needs("iam")),
        )
        self.runtime_account = account
        member = pulumi.Output.concat("serviceAccount:", account.email)
        aws_role = self._aws_role(placement, baseline, account)

        envs: list[gcp.cloudrunv2.WorkerPoolTemplateContainerEnvArgs] = []
        plain = worker_env(placement, baseline)
        plain["AWS_ROLE_ARN"] = aws_role.arn
        plain["AWS_REGION"] = config.aws_region
        # The ID token's audience: the trust policy checks accounts.google.com:aud = the unique id.
        plain[Env.AWS_WEB_IDENTITY_AUDIENCE] = account.unique_id
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
            # `latest` must exist before the first revision starts.
            version = baseline.secrets.gcp_versions.get(name)
            if version is not None:
                readers.append(version)
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
        name = pool_name(stack, placement.role, config.build_id)
        self.pool_name = name
        pool = gcp.cloudrunv2.WorkerPool(
            self.child_name("pool"),
            name=name,
            project=gcp_config.project,
            location=gcp_config.region,
            deletion_protection=False,
            # The scaler (Temporal's compute config, or CREMA) sets the instance count between min
            # and max; Pulumi sets the starting point and then leaves it alone.
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
                provider=provider,
                depends_on=[*readers, *needs("run")],
                ignore_changes=["scaling.manualInstanceCount"],
            ),
        )
        self.pool = pool
        self.compute = None
        if sizing.scaler == "temporal":
            self.compute = self._temporal_scaler(placement, baseline, pool, account, name)
        return {
            "target": self.target,
            "workerPool": pool.name,
            "scaler": sizing.scaler,
            "serviceAccount": account.email,
            "awsRoleArn": aws_role.arn,
        }

    def _temporal_scaler(
        self,
        placement: RolePlacement,
        baseline: Baseline,
        pool: gcp.cloudrunv2.WorkerPool,
        account: gcp.serviceaccount.Account,
        name: str,
    ) -> dict[str, pulumi.Input[Any]]:
        """The scaler account Temporal impersonates, its grants, and the compute config."""
        gcp_config = baseline.config.gcp
        principal = baseline.config.temporal.cloud_run_principal
        provider = baseline.gcp_provider
        assert gcp_config is not None and provider is not None
        if principal is None:  # config validation requires it (CloudRunTarget.rules)
            raise ValueError("temporal.cloudRunPrincipal is required for scaler temporal")
        services = baseline.gcp_services
        iam_apis = services.of("iam", "iamcredentials") if services is not None else []
        short = f"dp-{baseline.config.stack}-{placement.role}"[:26]
        controller = gcp.serviceaccount.Account(
            self.child_name("scaler-sa"),
            account_id=f"{short}-sc",
            project=gcp_config.project,
            display_name=f"docpipe {baseline.config.stack} {placement.role} scaler (used by Temporal)",
            opts=self.opts(provider=provider, depends_on=iam_apis),
        )
        controller_member = pulumi.Output.concat("serviceAccount:", controller.email)
        grants: Sequence[pulumi.Resource] = [
            gcp.cloudrunv2.WorkerPoolIamMember(
                self.child_name("scaler-can-resize"),
                project=gcp_config.project,
                location=gcp_config.region,
                name=pool.name,
                role="roles/run.developer",
                member=controller_member,
                opts=self.opts(provider=provider),
            ),
            # Resizing a pool acts as its runtime account.
            gcp.serviceaccount.IAMMember(
                self.child_name("scaler-acts-as-worker"),
                service_account_id=account.name,
                role="roles/iam.serviceAccountUser",
                member=controller_member,
                opts=self.opts(provider=provider, depends_on=iam_apis),
            ),
            # Temporal's worker controller mints the scaler account's tokens.
            gcp.serviceaccount.IAMMember(
                self.child_name("temporal-impersonates-scaler"),
                service_account_id=controller.name,
                role="roles/iam.serviceAccountTokenCreator",
                member=principal,
                opts=self.opts(provider=provider, depends_on=iam_apis),
            ),
        ]
        self.scaler_grants = list(grants)
        runtime = placement.runtime()
        # The five coupled settings exactly as the plan declares them (and the cost model prices them).
        return {
            "provider": "gcp-cloud-run",
            "project": gcp_config.project,
            "region": gcp_config.region,
            "workerPool": name,
            "serviceAccount": controller.email,
            **{
                k: runtime[k]
                for k in (
                    "minInstances",
                    "maxInstances",
                    "initialInstances",
                    "utilisationTarget",
                    "scaleDownSeconds",
                )
            },
        }

    @classmethod
    def shared(cls, components: Sequence[Placement], baseline: Baseline) -> None:
        """The stack's one CREMA for every pool whose scaler is crema."""
        scaled = [
            c
            for c in components
            if isinstance(c, CloudRunPlacement) and CLOUD_RUN.sizing(c.placement).scaler == "crema"
        ]
        gcp_config = baseline.config.gcp
        provider = baseline.gcp_provider
        if not scaled or gcp_config is None or provider is None:
            return
        secret_id = baseline.secrets.gcp_ids.get("temporalApiKey")
        if secret_id is None:
            raise ValueError(
                "CREMA needs the Temporal API key in Secret Manager (temporal.mode cloud or external)"
            )
        services = baseline.gcp_services
        Crema(
            "crema",
            stack=baseline.config.stack,
            gcp_config=gcp_config,
            provider=provider,
            temporal_address=baseline.temporal.address,
            temporal_namespace=baseline.temporal.namespace,
            api_key_secret_id=secret_id,
            api_key_version=baseline.secrets.gcp_versions.get("temporalApiKey"),
            worker_repository=baseline.registries.ar_repository,
            pools=[
                ScaledPool(
                    role=c.placement.role,
                    pool=c.pool,
                    pool_name=c.pool_name,
                    runtime_account=c.runtime_account,
                    task_queue=c.placement.task_queue,
                    queue_type="workflow" if c.placement.role == "workflow" else "activity",
                    deployment_name=c.placement.deployment_name,
                    build_id=baseline.config.build_id,
                    runtime=c.placement.runtime(),
                )
                for c in scaled
            ],
            services=(
                {api.split(".", 1)[0]: [svc] for api, svc in services.services.items()}
                if services is not None
                else {}
            ),
        )

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
