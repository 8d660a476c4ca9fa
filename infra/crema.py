"""CREMA: Google's Cloud Run External Metrics Autoscaling, scaling the stack's Cloud Run pools.

Used for the Cloud Run roles whose scaler is `crema` (the namespace's worker controller cannot drive
Cloud Run: an AWS-hosted Temporal Cloud namespace, or a server without `gcp-cloud-run`). One CREMA
service per stack serves all its pools (a pool must be scaled by one CREMA only — CREMA's README):

- a **Parameter Manager parameter + version** holding the `CremaConfig`: one KEDA `ScaledObject` per
  pool (`scaleTargetRef: projects/P/locations/R/workerpools/NAME`, min/max replicas from the role's
  sizing, a `temporal` trigger on the role's task queue and Worker Deployment version, scale-down
  stabilisation = the role's `scaleDownSeconds`), the Temporal API key read from Secret Manager
  through a `gcpSecretManager` trigger authentication;
- the **CREMA service** (Cloud Run, request-based billing, at most one instance) running
  `gcp.cremaImage` as its own service account, which may only read that parameter and that secret,
  pull from the worker repository, and resize (`run.developer`) and act as (`serviceAccountUser`)
  exactly the pools it scales;
- a **Cloud Scheduler job** that POSTs to it every `gcp.cremaPollingSeconds` (≥ 60 s) with an OIDC
  token of an invoker account allowed only `run.invoker` on it. Chosen over CREMA's own
  `pollingInterval` loop, which needs an always-on instance without CPU throttling (~47 USD/month
  at 1 vCPU); a one-minute poll at request-based billing is ~2.4 USD/month (docpipe cost shows it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp
import yaml

from docpipe.config import GcpConfig
from docpipe.targets.cloudrun import CREMA_CPU, CREMA_MEMORY_MIB
from infra.common import child

API_KEY_AUTH = "temporal-api-key"
TYPE_TOKEN = "docpipe:scaler:Crema"


@dataclass(frozen=True)
class ScaledPool:
    """One pool CREMA scales, with the settings the plan declares (`RolePlacement.runtime()`)."""

    role: str
    pool: gcp.cloudrunv2.WorkerPool
    pool_name: str
    runtime_account: gcp.serviceaccount.Account
    task_queue: str
    queue_type: str  # "workflow" for the workflow role, else "activity"
    deployment_name: str
    build_id: str
    runtime: Mapping[str, Any]


def scaled_object(
    *, project: str, region: str, pool: str, namespace: str, endpoint: str, spec: Mapping[str, Any]
) -> dict[str, Any]:
    """The KEDA ScaledObject of one pool (CREMA reads `spec` only)."""
    runtime = spec["runtime"]
    return {
        "metadata": {"name": pool},
        "spec": {
            "scaleTargetRef": {"name": f"projects/{project}/locations/{region}/workerpools/{pool}"},
            "minReplicaCount": int(runtime["minInstances"]),
            "maxReplicaCount": int(runtime["maxInstances"]),
            "triggers": [
                {
                    "type": "temporal",
                    "name": f"{spec['role']}-backlog",
                    "metadata": {
                        "endpoint": endpoint,
                        "namespace": namespace,
                        "taskQueue": spec["taskQueue"],
                        "queueTypes": spec["queueType"],
                        # The version's own backlog (Worker Deployment Versioning; KEDA ≥ 2.21).
                        "workerDeploymentName": spec["deploymentName"],
                        "workerDeploymentBuildId": spec["buildId"],
                        "targetQueueSize": str(runtime["targetQueueSize"]),
                        "activationTargetQueueSize": str(runtime["activationTargetQueueSize"]),
                    },
                    "authenticationRef": {"name": API_KEY_AUTH},
                }
            ],
            "advanced": {
                "horizontalPodAutoscalerConfig": {
                    "behavior": {
                        # CREMA ignores cooldownPeriod: the idle tail is HPA's stabilisation window.
                        "scaleDown": {
                            "stabilizationWindowSeconds": int(runtime["scaleDownSeconds"]),
                            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
                        },
                        "scaleUp": {
                            "stabilizationWindowSeconds": 0,
                            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
                        },
                    }
                }
            },
        },
    }


def crema_config(
    *,
    project: str,
    region: str,
    namespace: str,
    endpoint: str,
    api_key_secret: str,
    pools: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The CremaConfig document. No `pollingInterval`: Cloud Scheduler invokes the service."""
    return {
        "apiVersion": "crema/v1",
        "kind": "CremaConfig",
        "spec": {
            "triggerAuthentications": [
                {
                    "metadata": {"name": API_KEY_AUTH},
                    "spec": {
                        "gcpSecretManager": {
                            "secrets": [{"parameter": "apiKey", "id": api_key_secret, "version": "latest"}]
                        }
                    },
                }
            ],
            "scaledObjects": [
                scaled_object(
                    project=project,
                    region=region,
                    pool=str(p["poolName"]),
                    namespace=namespace,
                    endpoint=endpoint,
                    spec=p,
                )
                for p in pools
            ],
        },
    }


def schedule(polling_seconds: int) -> str:
    """Cloud Scheduler cron for every `polling_seconds` (a whole number of minutes, ≥ 1)."""
    minutes = polling_seconds // 60
    return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"


def _account_id(stack: str, suffix: str) -> str:
    """A service account id (6–30 chars, [a-z][a-z0-9-]*[a-z0-9])."""
    head = f"dp-{stack}"[: 30 - len(suffix) - 1].rstrip("-")
    return f"{head}-{suffix}"


class Crema(pulumi.ComponentResource):
    """The stack's CREMA: config, service, identity, scheduler (see the module docstring)."""

    def __init__(
        self,
        name: str,
        *,
        stack: str,
        gcp_config: GcpConfig,
        provider: gcp.Provider,
        temporal_address: pulumi.Input[str],
        temporal_namespace: pulumi.Input[str],
        api_key_secret_id: pulumi.Input[str],
        api_key_version: pulumi.Resource | None,
        worker_repository: gcp.artifactregistry.Repository | None,
        pools: Sequence[ScaledPool],
        services: Mapping[str, Sequence[pulumi.Resource]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # What the policy pack's cost reconstruction reads back (policies/cost.py): the gcp settings.
        props = {
            "pools": [p.pool_name for p in pools],
            "project": gcp_config.project,
            "region": gcp_config.region,
            "image": gcp_config.crema_image,
            "pollingSeconds": gcp_config.crema_polling_seconds,
        }
        super().__init__(TYPE_TOKEN, name, props, opts)
        if gcp_config.crema_image is None:
            raise ValueError("gcp.cremaImage is required when a Cloud Run role is scaled by CREMA")
        project, region = gcp_config.project, gcp_config.region

        def opts_for(*apis: str, extra: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
            deps = [r for api in apis for r in services.get(api, ())] + list(extra)
            return child(self, provider=provider, depends_on=deps)

        account = gcp.serviceaccount.Account(
            f"{name}-sa",
            account_id=_account_id(stack, "crema"),
            project=project,
            display_name=f"docpipe {stack} CREMA autoscaler",
            opts=opts_for("iam"),
        )
        member = pulumi.Output.concat("serviceAccount:", account.email)
        parameter = gcp.parametermanager.Parameter(
            f"{name}-config",
            parameter_id=f"docpipe-{stack}-crema",
            project=project,
            format="YAML",
            opts=opts_for("parametermanager"),
        )
        specs = [
            {
                "role": p.role,
                "poolName": p.pool_name,
                "taskQueue": p.task_queue,
                "queueType": p.queue_type,
                "deploymentName": p.deployment_name,
                "buildId": p.build_id,
                "runtime": dict(p.runtime),
            }
            for p in pools
        ]
        document = pulumi.Output.all(temporal_address, temporal_namespace, api_key_secret_id).apply(
            lambda args: yaml.safe_dump(
                crema_config(
                    project=project,
                    region=region,
                    endpoint=str(args[0]),
                    namespace=str(args[1]),
                    api_key_secret=str(args[2]),
                    pools=specs,
                ),
                sort_keys=False,
            )
        )
        # Versions are immutable: a changed config is a new version (named from its content).
        version_id = document.apply(lambda d: "v-" + hashlib.sha256(d.encode()).hexdigest()[:12])
        version = gcp.parametermanager.ParameterVersion(
            f"{name}-config-version",
            parameter=parameter.id,
            parameter_version_id=version_id,
            parameter_data=document,
            opts=child(self, provider=provider),
        )
        # Parameter Manager has no per-parameter IAM resource in the provider: a project binding,
        # conditioned on this parameter (and its versions) only.
        gcp.projects.IAMMember(
            f"{name}-reads-config",
            project=project,
            role="roles/parametermanager.parameterViewer",
            member=member,
            condition=gcp.projects.IAMMemberConditionArgs(
                title=f"docpipe-{stack}-crema-config-only",
                description="CREMA reads its own CremaConfig parameter only",
                expression=(
                    f'resource.name.endsWith("/parameters/docpipe-{stack}-crema") || '
                    f'resource.name.contains("/parameters/docpipe-{stack}-crema/")'
                ),
            ),
            opts=opts_for("iam"),
        )
        secret_reader = gcp.secretmanager.SecretIamMember(
            f"{name}-reads-temporal-key",
            project=project,
            secret_id=api_key_secret_id,
            role="roles/secretmanager.secretAccessor",
            member=member,
            opts=opts_for("secretmanager"),
        )
        grants: list[pulumi.Resource] = [secret_reader]
        if worker_repository is not None:
            grants.append(
                gcp.artifactregistry.RepositoryIamMember(
                    f"{name}-reads-worker-repo",
                    project=project,
                    location=region,
                    repository=worker_repository.name,
                    role="roles/artifactregistry.reader",
                    member=member,
                    opts=opts_for("artifactregistry"),
                )
            )
        for p in pools:
            grants.append(
                gcp.cloudrunv2.WorkerPoolIamMember(
                    f"{name}-resizes-{p.role}",
                    project=project,
                    location=region,
                    name=p.pool.name,
                    role="roles/run.developer",
                    member=member,
                    opts=opts_for("run"),
                )
            )
            grants.append(
                gcp.serviceaccount.IAMMember(
                    f"{name}-acts-as-{p.role}",
                    service_account_id=p.runtime_account.name,
                    role="roles/iam.serviceAccountUser",
                    member=member,
                    opts=opts_for("iam"),
                )
            )
        envs = [
            gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(name="CREMA_CONFIG", value=version.name),
            gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(name="OUTPUT_SCALER_METRICS", value="False"),
            gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(name="ENABLE_CLOUD_LOGGING", value="False"),
        ]
        self.service: gcp.cloudrunv2.Service = gcp.cloudrunv2.Service(
            f"{name}-service",
            name=f"docpipe-{stack}-crema"[:49].rstrip("-"),
            project=project,
            location=region,
            deletion_protection=False,
            # Cloud Scheduler calls from outside any VPC; IAM (run.invoker) is what admits it.
            ingress="INGRESS_TRAFFIC_ALL",
            template=gcp.cloudrunv2.ServiceTemplateArgs(
                service_account=account.email,
                max_instance_request_concurrency=1,
                timeout="300s",
                scaling=gcp.cloudrunv2.ServiceTemplateScalingArgs(min_instance_count=0, max_instance_count=1),
                containers=[
                    gcp.cloudrunv2.ServiceTemplateContainerArgs(
                        image=gcp_config.crema_image,
                        base_image_uri=gcp_config.crema_base_image,
                        envs=envs,
                        resources=gcp.cloudrunv2.ServiceTemplateContainerResourcesArgs(
                            limits={"cpu": str(CREMA_CPU), "memory": f"{CREMA_MEMORY_MIB}Mi"},
                            cpu_idle=True,  # request-based billing: CPU only while a poll runs
                        ),
                    )
                ],
            ),
            labels={"created-by": "crema", "docpipe-stack": stack},
            opts=opts_for("run", extra=[*grants, *([api_key_version] if api_key_version else [])]),
        )
        invoker = gcp.serviceaccount.Account(
            f"{name}-invoker-sa",
            account_id=_account_id(stack, "crema-cron"),
            project=project,
            display_name=f"docpipe {stack} Cloud Scheduler → CREMA",
            opts=opts_for("iam"),
        )
        can_invoke = gcp.cloudrunv2.ServiceIamMember(
            f"{name}-invoker-can-invoke",
            project=project,
            location=region,
            name=self.service.name,
            role="roles/run.invoker",
            member=pulumi.Output.concat("serviceAccount:", invoker.email),
            opts=opts_for("run"),
        )
        gcp.cloudscheduler.Job(
            f"{name}-schedule",
            name=f"docpipe-{stack}-crema",
            project=project,
            region=region,
            description=f"Invokes CREMA every {gcp_config.crema_polling_seconds} s (gcp.cremaPollingSeconds)",
            schedule=schedule(gcp_config.crema_polling_seconds),
            time_zone="Etc/UTC",
            attempt_deadline="180s",
            http_target=gcp.cloudscheduler.JobHttpTargetArgs(
                uri=self.service.uri,
                http_method="POST",
                oidc_token=gcp.cloudscheduler.JobHttpTargetOidcTokenArgs(
                    service_account_email=invoker.email, audience=self.service.uri
                ),
            ),
            opts=opts_for("cloudscheduler", extra=[can_invoke]),
        )
        self.register_outputs(
            {"service": self.service.name, "config": version.name, "account": account.email}
        )


def config_json(document: str) -> dict[str, Any]:
    """The CremaConfig of a parameter version's YAML payload (for tests and `docpipe plan`)."""
    loaded: dict[str, Any] = yaml.safe_load(document)
    return json.loads(json.dumps(loaded))
