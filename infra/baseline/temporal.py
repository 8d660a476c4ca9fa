"""Temporal in its three modes (`temporal.mode`).

- cloud: a Temporal Cloud namespace (pulumi-temporalcloud) with API-key auth, a service account
  with write access to it and an API key for the workers (stored by the secrets component).
- self-hosted: a Temporal server on EC2 (an auto-scaling group of one behind a fixed private
  address) with RDS persistence and the `workercontroller.*` dynamic config that Serverless Workers
  need; its instance role is the principal the Lambda invoke roles trust.
- external: an existing Temporal at `temporal.address`, its API key (the `temporalApiKey` secret)
  stored by the secrets component.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_temporalcloud as temporalcloud

from docpipe.config import TemporalConfig
from infra.baseline.database import Database
from infra.baseline.network import Network
from infra.common import as_secret, assume_role_policy, child, policy_document, statement, tags
from workers.contract import SEARCH_ATTRIBUTES

FRONTEND_PORT = 7233
SELF_HOSTED_IP = "10.40.128.10"  # first private subnet; a fixed ENI keeps the address stable
TEMPORAL_SERVER_IMAGE = "temporalio/auto-setup:1.31.0"
# Temporal Cloud API keys need an expiry; rotate before this date (`pulumi up` after changing it).
API_KEY_EXPIRY = "2027-11-30T00:00:00Z"
AL2023_ARM64 = "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
AL2023_X86 = "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"

# What a self-hosted server needs so Temporal can invoke Lambda workers (Temporal's self-hosted
# Serverless Workers setup): the worker controller on, the aws-lambda provider and no-sync scaler.
WORKER_CONTROLLER_DYNAMIC_CONFIG: dict[str, list[dict[str, object]]] = {
    "workercontroller.enabled": [{"value": True}],
    "workercontroller.compute_providers.enabled": [{"value": ["aws-lambda"]}],
    "workercontroller.scaling_algorithms.enabled": [{"value": ["no-sync"]}],
    "workercontroller.compute_providers.aws.require_role_and_external_id": [{"value": True}],
}


@dataclass(frozen=True)
class TemporalEndpoint:
    """How workers and the versioning provider reach Temporal."""

    mode: str
    address: pulumi.Output[str]
    namespace: pulumi.Output[str]
    tls: bool
    api_key: pulumi.Output[str] | None  # secret; kept in Secrets Manager by infra.baseline.secrets
    server_role_arn: pulumi.Output[str] | None  # self-hosted: who assumes the Lambda invoke roles


def instance_ami(instance_type: str) -> str:
    family = instance_type.split(".", 1)[0]
    return AL2023_ARM64 if any(ch == "g" for ch in family[2:4]) else AL2023_X86


class Temporal(pulumi.ComponentResource):
    """The Temporal service the workers poll, in the configured mode."""

    endpoint: TemporalEndpoint

    def __init__(
        self,
        name: str,
        *,
        stack: str,
        config: TemporalConfig,
        network: Network,
        database: Database,
        region: str,
        api_key: pulumi.Output[str] | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("docpipe:baseline:Temporal", name, {"mode": config.mode}, opts)
        self._name = name
        self._stack = stack
        if config.mode == "cloud":
            self.endpoint = self._cloud(config)
        elif config.mode == "self-hosted":
            self.endpoint = self._self_hosted(config, network, database, region)
        else:
            self.endpoint = self._external(config, api_key)
        self.register_outputs(
            {"address": self.endpoint.address, "namespace": self.endpoint.namespace, "mode": config.mode}
        )

    def _cloud(self, config: TemporalConfig) -> TemporalEndpoint:
        namespace = temporalcloud.Namespace(
            f"{self._name}-namespace",
            name=config.namespace,
            regions=[config.cloud_region],
            retention_days=config.retention_days,
            api_key_auth=True,
            opts=child(self, protect=False),
        )
        account = temporalcloud.ServiceAccount(
            f"{self._name}-workers",
            name=f"docpipe-{self._stack}-workers",
            account_access="read",
            namespace_accesses=[
                temporalcloud.ServiceAccountNamespaceAccessArgs(namespace_id=namespace.id, permission="write")
            ],
            opts=child(self),
        )
        key = temporalcloud.Apikey(
            f"{self._name}-workers-key",
            display_name=f"docpipe-{self._stack}-workers",
            owner_type="service-account",
            owner_id=account.id,
            expiry_time=API_KEY_EXPIRY,
            opts=child(self, additional_secret_outputs=["token"]),
        )
        token = as_secret(key.token)
        address = namespace.endpoints.apply(lambda e: (e.grpc_address if e else None) or "")
        # Runs carry docpipe's search attributes; a start naming an unregistered one is refused, so
        # everything that starts runs gets the namespace id only once they exist.
        attributes = [
            temporalcloud.NamespaceSearchAttribute(
                f"{self._name}-attr-{attr.lower()}",
                namespace_id=namespace.id,
                name=attr,
                type=kind.lower(),
                opts=child(self),
            )
            for attr, kind in SEARCH_ATTRIBUTES.items()
        ]
        namespace_id = pulumi.Output.all(namespace.id, *(a.id for a in attributes)).apply(
            lambda ids: str(ids[0])
        )
        return TemporalEndpoint(
            mode="cloud",
            address=address,
            namespace=namespace_id,
            tls=True,
            api_key=token,
            server_role_arn=None,
        )

    def _external(self, config: TemporalConfig, api_key: pulumi.Output[str] | None) -> TemporalEndpoint:
        if api_key is None:
            raise ValueError("temporal.mode external needs the temporalApiKey secret")
        return TemporalEndpoint(
            mode="external",
            address=pulumi.Output.from_input(config.address or ""),
            namespace=pulumi.Output.from_input(config.namespace),
            tls=True,
            api_key=api_key,
            server_role_arn=None,
        )

    def _self_hosted(
        self, config: TemporalConfig, network: Network, database: Database, region: str
    ) -> TemporalEndpoint:
        name = self._name
        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=network.vpc_id,
            description="Temporal frontend: gRPC from the VPC only",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp",
                    from_port=FRONTEND_PORT,
                    to_port=FRONTEND_PORT,
                    cidr_blocks=[network.vpc_cidr],
                )
            ],
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"]
                )
            ],
            tags=tags(self._stack, "temporal"),
            opts=child(self),
        )
        role = aws.iam.Role(
            f"{name}-server-role",
            assume_role_policy=assume_role_policy("ec2.amazonaws.com"),
            description="Temporal server: reads its DB secret, assumes the Lambda invoke roles",
            opts=child(self),
        )
        aws.iam.RolePolicy(
            f"{name}-server-policy",
            role=role.id,
            policy=policy_document(
                [
                    statement(["secretsmanager:GetSecretValue"], [database.secret_arn]),
                    statement(
                        ["sts:AssumeRole"],
                        [f"arn:aws:iam::*:role/docpipe-{self._stack}-*-temporal-invoke"],
                    ),
                ]
            ),
            opts=child(self),
        )
        profile = aws.iam.InstanceProfile(f"{name}-server-profile", role=role.name, opts=child(self))
        eni = aws.ec2.NetworkInterface(
            f"{name}-eni",
            subnet_id=network.private_subnet_ids[0],
            private_ips=[SELF_HOSTED_IP],
            security_groups=[sg.id],
            opts=child(self),
        )
        user_data = pulumi.Output.all(database.address, database.secret_arn).apply(
            lambda args: _server_user_data(str(args[0]), str(args[1]), region, config.namespace)
        )
        template = aws.ec2.LaunchTemplate(
            f"{name}-server",
            image_id=instance_ami(config.self_hosted_instance_type),
            instance_type=config.self_hosted_instance_type,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_tokens="required", http_endpoint="enabled", http_put_response_hop_limit=2
            ),
            network_interfaces=[
                aws.ec2.LaunchTemplateNetworkInterfaceArgs(device_index=0, network_interface_id=eni.id)
            ],
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=20, volume_type="gp3", encrypted="true"
                    ),
                )
            ],
            user_data=user_data,
            tags=tags(self._stack, "temporal"),
            opts=child(self),
        )
        aws.autoscaling.Group(
            f"{name}-server-asg",
            min_size=1,
            max_size=1,
            desired_capacity=1,
            availability_zones=[f"{region}a"],
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(id=template.id, version="$Latest"),
            opts=child(self),
        )
        return TemporalEndpoint(
            mode="self-hosted",
            address=pulumi.Output.from_input(f"{SELF_HOSTED_IP}:{FRONTEND_PORT}"),
            namespace=pulumi.Output.from_input(config.namespace),
            tls=False,
            api_key=None,
            server_role_arn=role.arn,
        )


def _server_user_data(db_host: str, db_secret_arn: str, region: str, namespace: str) -> str:
    """Boot script: Temporal (auto-setup) on Docker, persistence in RDS over TLS."""
    dynamic = json.dumps(WORKER_CONTROLLER_DYNAMIC_CONFIG)
    attribute_flags = " ".join(f"--name {name} --type {kind}" for name, kind in SEARCH_ATTRIBUTES.items())
    script = f"""#!/bin/bash
set -euo pipefail
dnf install -y docker jq
systemctl enable --now docker
mkdir -p /etc/temporal
# Dynamic config as YAML (JSON is valid YAML).
cat > /etc/temporal/dynamic.yaml <<'EOF'
{dynamic}
EOF
SECRET=$(aws secretsmanager get-secret-value --region {region} --secret-id '{db_secret_arn}' \\
  --query SecretString --output text)
docker run -d --restart=always --name temporal -p 7233:7233 \\
  -v /etc/temporal:/etc/temporal \\
  -e DB=postgres12 -e DB_PORT=5432 -e POSTGRES_SEEDS='{db_host}' \\
  -e POSTGRES_USER="$(echo "$SECRET" | jq -r .username)" \\
  -e POSTGRES_PWD="$(echo "$SECRET" | jq -r .password)" \\
  -e SQL_TLS_ENABLED=true -e SQL_TLS=true \\
  -e DYNAMIC_CONFIG_FILE_PATH=/etc/temporal/dynamic.yaml -e DEFAULT_NAMESPACE='{namespace}' \\
  {TEMPORAL_SERVER_IMAGE}
# docpipe's search attributes (a run naming an unregistered one is refused at start); retried while
# the server and its default namespace come up.
for attempt in $(seq 1 60); do
  docker exec temporal sh -c 'temporal operator search-attribute create --address "$(hostname -i):7233" \\
    --namespace {namespace} {attribute_flags}' && break
  sleep 5
done
"""
    return base64.b64encode(script.encode()).decode()
