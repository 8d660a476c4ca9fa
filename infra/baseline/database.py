"""RDS PostgreSQL for the storage role (and a self-hosted Temporal's persistence).

Private by default (reachable only from inside the VPC), storage encrypted, TLS required through the
parameter group (`rds.force_ssl = 1`), and the master password managed by RDS in Secrets Manager
(`manage_master_user_password`), so no password ever enters Pulumi state. `database.reachability:
public-tls` (storage on Cloud Run) opens it to the listed CIDRs only, still TLS-only.

Deletion: `database.deletionProtection` (default true) makes AWS refuse to delete the instance; to
destroy the stack, set it false and `pulumi up` first. Every delete takes a final snapshot whose name
ends in a random suffix kept in the state (pulumi-random), so a stack destroyed, re-created and
destroyed again never collides with its earlier snapshot.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from docpipe.config import DatabaseConfig
from infra.baseline.network import Network
from infra.common import child, tags

DB_NAME = "docpipe"
DB_USER = "docpipe"
PORT = 5432


class Database(pulumi.ComponentResource):
    """The PostgreSQL instance with its subnet group, security group and parameter group."""

    address: pulumi.Output[str]
    secret_arn: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        stack: str,
        config: DatabaseConfig,
        network: Network,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("docpipe:baseline:Database", name, {"reachability": config.reachability}, opts)
        public = config.reachability == "public-tls"
        subnets = network.public_subnet_ids if public else network.private_subnet_ids
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets", subnet_ids=subnets, tags=tags(stack, "database"), opts=child(self)
        )
        ingress = [
            aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp",
                from_port=PORT,
                to_port=PORT,
                cidr_blocks=[network.vpc_cidr],
                description="PostgreSQL from workers inside the VPC",
            )
        ]
        if public:
            ingress.append(
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp",
                    from_port=PORT,
                    to_port=PORT,
                    cidr_blocks=list(config.allowed_cidrs),
                    description="PostgreSQL (TLS) from the workers outside AWS",
                )
            )
        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=network.vpc_id,
            description="docpipe PostgreSQL: ingress on 5432 only",
            ingress=ingress,
            tags=tags(stack, "database"),
            opts=child(self),
        )
        major = config.engine_version.split(".", 1)[0]
        params = aws.rds.ParameterGroup(
            f"{name}-params",
            family=f"postgres{major}",
            description="docpipe: TLS required",
            parameters=[aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1")],
            tags=tags(stack, "database"),
            opts=child(self),
        )
        # New with each new instance (and so with each stack created after a destroy): the final
        # snapshot of one instance never has the name of an earlier one's.
        snapshot_suffix = random.RandomId(f"{name}-final-snapshot-suffix", byte_length=4, opts=child(self))
        instance = aws.rds.Instance(
            f"{name}-postgres",
            engine="postgres",
            engine_version=config.engine_version,
            instance_class=config.instance_class,
            allocated_storage=config.allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            db_name=DB_NAME,
            username=DB_USER,
            manage_master_user_password=True,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[sg.id],
            parameter_group_name=params.name,
            publicly_accessible=public,
            multi_az=config.multi_az,
            backup_retention_period=7,
            copy_tags_to_snapshot=True,
            skip_final_snapshot=False,
            final_snapshot_identifier=pulumi.Output.concat(f"docpipe-{stack}-final-", snapshot_suffix.hex),
            deletion_protection=config.deletion_protection,
            tags=tags(stack, "database"),
            opts=child(self),
        )
        self.address = instance.address
        self.arn = instance.arn
        self.secret_arn = instance.master_user_secrets.apply(lambda secrets: secrets[0].secret_arn or "")
        self.register_outputs({"address": self.address, "secretArn": self.secret_arn})
