"""ElastiCache Valkey: result cache and cost-guard semaphores for the roles inside the VPC.

Declared only when some role uses it (a role outside the VPC runs uncached). TLS is always on and
clients authenticate: `serverless` uses an RBAC user group (a disabled `default` user plus a
`docpipe` user whose password comes from pulumi-random); `node` uses a replication group with
transit encryption and an AUTH token from pulumi-random. Either way the password is kept in Secrets
Manager and workers get only its ARN; the Valkey URL they get carries no password.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from docpipe.config import CacheConfig
from infra.baseline.network import Network
from infra.common import as_secret, child, tags

PORT = 6379
APP_USER = "docpipe"


class Cache(pulumi.ComponentResource):
    """Valkey (serverless or one node) with TLS and authentication."""

    url: pulumi.Output[str]
    auth_secret_arn: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        stack: str,
        config: CacheConfig,
        network: Network,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("docpipe:baseline:Cache", name, {"mode": config.mode}, opts)
        self._name = name
        self._stack = stack
        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=network.vpc_id,
            description="docpipe Valkey: ingress on 6379 from the VPC only",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp", from_port=PORT, to_port=PORT, cidr_blocks=[network.vpc_cidr]
                )
            ],
            tags=tags(stack, "cache"),
            opts=child(self),
        )
        password = random.RandomPassword(f"{name}-password", length=40, special=False, opts=child(self))
        secret = aws.secretsmanager.Secret(
            f"{name}-auth",
            description="docpipe Valkey credentials (user and password)",
            recovery_window_in_days=7,
            tags=tags(stack, "cache"),
            opts=child(self),
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-auth-value",
            secret_id=secret.id,
            secret_string=pulumi.Output.json_dumps(
                {
                    "username": APP_USER if config.mode == "serverless" else "",
                    "password": as_secret(password.result),
                }
            ),
            opts=child(self),
        )
        self.auth_secret_arn = secret.arn
        if config.mode == "serverless":
            host, arn = self._serverless(config, network, sg, password)
            user = f"{APP_USER}@"
        else:
            host, arn = self._node(config, network, sg, password)
            user = ""
        self.arn = arn
        self.url = pulumi.Output.concat("rediss://", user, host, f":{PORT}")
        self.register_outputs({"url": self.url, "authSecretArn": self.auth_secret_arn})

    def _serverless(
        self,
        config: CacheConfig,
        network: Network,
        sg: aws.ec2.SecurityGroup,
        password: random.RandomPassword,
    ) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        name = self._name
        default_password = random.RandomPassword(
            f"{name}-default-password", length=40, special=False, opts=child(self)
        )
        # RBAC needs a user named "default" in every group; this one can do nothing.
        default_user = aws.elasticache.User(
            f"{name}-default-user",
            user_id=f"docpipe-{self._stack}-default",
            user_name="default",
            engine="valkey",
            access_string="off -@all",
            authentication_mode=aws.elasticache.UserAuthenticationModeArgs(
                type="password", passwords=[as_secret(default_password.result)]
            ),
            opts=child(self),
        )
        app_user = aws.elasticache.User(
            f"{name}-app-user",
            user_id=f"docpipe-{self._stack}-app",
            user_name=APP_USER,
            engine="valkey",
            access_string="on ~* +@all -@dangerous",
            authentication_mode=aws.elasticache.UserAuthenticationModeArgs(
                type="password", passwords=[as_secret(password.result)]
            ),
            opts=child(self),
        )
        group = aws.elasticache.UserGroup(
            f"{name}-users",
            user_group_id=f"docpipe-{self._stack}",
            engine="valkey",
            user_ids=[default_user.user_id, app_user.user_id],
            opts=child(self),
        )
        cache = aws.elasticache.ServerlessCache(
            f"{name}-valkey",
            name=f"docpipe-{self._stack}",
            engine="valkey",
            major_engine_version="8",
            description="docpipe result cache and semaphores",
            subnet_ids=network.private_subnet_ids,
            security_group_ids=[sg.id],
            user_group_id=group.user_group_id,
            cache_usage_limits=aws.elasticache.ServerlessCacheCacheUsageLimitsArgs(
                data_storage=aws.elasticache.ServerlessCacheCacheUsageLimitsDataStorageArgs(
                    maximum=config.max_storage_gb, unit="GB"
                )
            ),
            tags=tags(self._stack, "cache"),
            opts=child(self),
        )
        host = cache.endpoints.apply(lambda eps: (eps[0].address or "") if eps else "")
        return host, cache.arn

    def _node(
        self,
        config: CacheConfig,
        network: Network,
        sg: aws.ec2.SecurityGroup,
        password: random.RandomPassword,
    ) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        name = self._name
        subnets = aws.elasticache.SubnetGroup(
            f"{name}-subnets",
            description="docpipe Valkey private subnets",
            subnet_ids=network.private_subnet_ids,
            opts=child(self),
        )
        group = aws.elasticache.ReplicationGroup(
            f"{name}-valkey",
            description="docpipe result cache and semaphores",
            engine="valkey",
            node_type=config.node_type,
            num_cache_clusters=1,
            port=PORT,
            subnet_group_name=subnets.name,
            security_group_ids=[sg.id],
            transit_encryption_enabled=True,
            at_rest_encryption_enabled=True,
            auth_token=as_secret(password.result),
            tags=tags(self._stack, "cache"),
            opts=child(self),
        )
        return group.primary_endpoint_address, group.arn
