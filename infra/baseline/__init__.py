"""The shared AWS baseline (and the GCP pieces only Cloud Run roles need), declared from the plan.

`build_baseline(plan, secret_values)` declares exactly what the plan needs: the VPC (a NAT gateway
only when a VPC-attached Lambda needs the internet), PostgreSQL, Valkey (in every stack: the roles
in the VPC use it, the plan says why the others do not), Temporal in the configured mode, the
document bucket, the registries, the worker image (one build per architecture the plan needs), the
secrets, and the starter function. GCP resources appear
only when a role is on Cloud Run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from docpipe.config import SecretName, StackConfig
from docpipe.deployment import STARTER_ARCHITECTURE, image_architectures
from docpipe.plan import PlacementPlan
from docpipe.worker_env import search_attributes_env
from infra.baseline.bucket import DocumentBucket, Starter
from infra.baseline.cache import Cache
from infra.baseline.database import Database
from infra.baseline.image import WorkerImage
from infra.baseline.network import Network, build_network
from infra.baseline.registry import Registries
from infra.baseline.secrets import Secrets
from infra.baseline.temporal import Temporal, TemporalEndpoint
from infra.common import child
from infra.gcp_services import GcpServices
from workers.contract import DEFAULT_QUEUE_PREFIX, Env

Architecture = str  # "arm64" | "x86_64" (Lambda's names)
PLATFORMS: dict[str, str] = {"arm64": "linux/arm64", "x86_64": "linux/amd64"}


def required_architectures(plan: PlacementPlan) -> list[Architecture]:
    """CPU architectures the plan's workers need (the starter runs arm64)."""
    return image_architectures(plan)


def gcp_secret_names(plan: PlacementPlan) -> set[str]:
    """Secrets the Cloud Run roles read from Secret Manager."""
    names: set[str] = set()
    for p in plan:
        if p.target_unit.cloud != "gcp":
            continue
        names.update(p.secrets)
        if plan.config.temporal.mode != "self-hosted":
            names.add("temporalApiKey")
    return names


@dataclass
class Baseline:
    """What the placements build on."""

    plan: PlacementPlan
    network: Network
    database: Database
    cache: Cache
    temporal: TemporalEndpoint
    bucket: DocumentBucket
    registries: Registries
    images: dict[Architecture, WorkerImage]
    secrets: Secrets
    gcp_provider: gcp.Provider | None
    lambda_sg_id: pulumi.Output[str]
    gcp_services: GcpServices | None = None  # the Google APIs the plan needs (infra/gcp_services.py)

    @property
    def config(self) -> StackConfig:
        return self.plan.config

    def image_ref(self, arch: Architecture, cloud: str = "aws") -> pulumi.Output[str]:
        image = self.images[arch]
        if cloud == "gcp":
            if image.ar_ref is None:
                raise ValueError("no Artifact Registry image: no role is on Cloud Run")
            return image.ar_ref
        return image.ecr_ref

    def secret_refs(self, names: list[str]) -> dict[str, pulumi.Output[str]]:
        return {n: self.secrets.aws_arns[n] for n in names if n in self.secrets.aws_arns}


def build_baseline(plan: PlacementPlan, secret_values: Mapping[SecretName, pulumi.Output[str]]) -> Baseline:
    config = plan.config
    stack = config.stack
    gcp_provider: gcp.Provider | None = None
    if plan.uses_gcp and config.gcp is not None:
        gcp_provider = gcp.Provider("gcp", project=config.gcp.project, region=config.gcp.region)
    gcp_config = config.gcp if gcp_provider is not None else None
    services = (
        GcpServices("gcp-services", plan, gcp_config, gcp_provider)
        if gcp_config is not None and gcp_provider is not None
        else None
    )

    network = build_network(plan)
    database = Database("database", stack, config.database, network)
    cache = Cache("cache", stack, config.cache, network)
    temporal = Temporal(
        "temporal",
        stack=stack,
        config=config.temporal,
        network=network,
        database=database,
        region=config.aws_region,
        api_key=secret_values.get("temporalApiKey"),
    ).endpoint
    values: dict[SecretName, pulumi.Output[str]] = dict(secret_values)
    if temporal.api_key is not None:
        values["temporalApiKey"] = temporal.api_key
    secrets = Secrets(
        "secrets",
        stack=stack,
        values=values,
        gcp_names=gcp_secret_names(plan),
        gcp_config=gcp_config,
        gcp_provider=gcp_provider,
        gcp_depends=services.of("secretmanager") if services else [],
    )
    bucket = DocumentBucket("documents", stack, config.bucket)
    registries = Registries(
        "registry",
        stack,
        gcp_config,
        gcp_provider,
        gcp_depends=services.of("artifactregistry") if services else [],
    )
    images = {
        arch: WorkerImage(
            f"worker-image-{arch}",
            tag=config.build_id,
            platform=PLATFORMS[arch],
            registries=registries,
            gcp_config=gcp_config if arch == "x86_64" else None,
            gcp_provider=gcp_provider if arch == "x86_64" else None,
        )
        for arch in required_architectures(plan)
    }
    lambda_sg = aws.ec2.SecurityGroup(
        "vpc-lambda-sg",
        vpc_id=network.vpc_id,
        description="docpipe VPC-attached Lambdas: egress only",
        egress=[
            aws.ec2.SecurityGroupEgressArgs(protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"])
        ],
        opts=child(network),
    )
    baseline = Baseline(
        plan=plan,
        network=network,
        database=database,
        cache=cache,
        temporal=temporal,
        bucket=bucket,
        registries=registries,
        images=images,
        secrets=secrets,
        gcp_provider=gcp_provider,
        lambda_sg_id=lambda_sg.id,
        gcp_services=services,
    )
    starter_secrets = [secrets.aws_arns["temporalApiKey"]] if "temporalApiKey" in secrets.aws_arns else []
    starter_env: dict[str, pulumi.Input[str]] = {
        Env.STACK: stack,
        Env.QUEUE_PREFIX: DEFAULT_QUEUE_PREFIX,
        Env.BUCKET: bucket.name,
        Env.UPLOAD_PREFIX: bucket.upload_prefix,
        "TEMPORAL_ADDRESS": temporal.address,
        "TEMPORAL_NAMESPACE": temporal.namespace,
        "TEMPORAL_TLS": "true" if temporal.tls else "false",
        Env.SECRET_REFS: pulumi.Output.json_dumps(baseline.secret_refs(["temporalApiKey"])),
        Env.STAGE_TIMEOUTS: json.dumps(plan.stage_timeouts(), sort_keys=True),
        **search_attributes_env(config.temporal.mode),
    }
    self_hosted = config.temporal.mode == "self-hosted"
    Starter(
        "starter",
        stack=stack,
        bucket=bucket,
        image_uri=baseline.image_ref(STARTER_ARCHITECTURE),
        architecture=STARTER_ARCHITECTURE,
        env=starter_env,
        secret_arns=starter_secrets,
        vpc=(network.private_subnet_ids, lambda_sg.id) if self_hosted else None,
    )
    return baseline
