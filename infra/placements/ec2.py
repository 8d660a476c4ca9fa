"""ec2: long-lived workers in an auto-scaling group.

A launch template boots Amazon Linux, pulls the worker image from ECR and runs
`docpipe worker <role>` (which drains on SIGTERM). Instances sit in the public subnets with a public
address and an egress-only security group (no NAT needed, nothing can connect in), IMDSv2 is
required, and the instance profile can read only the bucket, this role's secrets and the image.
The group follows the template's latest version number, so a new image or environment rolls the
instances through the group's instance refresh.
"""

from __future__ import annotations

import base64
import shlex
from typing import Any

import pulumi
import pulumi_aws as aws

from docpipe.deployment import LOG_RETENTION_DAYS
from docpipe.plan import RolePlacement
from docpipe.targets.ec2 import PUBLIC_IPV4, STOP_TIMEOUT_SECONDS
from docpipe.targets.ec2 import TARGET as EC2
from infra.baseline import Baseline
from infra.baseline.temporal import instance_ami
from infra.common import assume_role_policy, policy_document, tags
from infra.env import worker_env
from infra.iam import role_statements
from infra.placements.base import Placement


class Ec2Placement(Placement):
    """Auto-scaling group of workers for one role."""

    target = "ec2"
    type_token = "docpipe:placement:Ec2"

    def declare(self, placement: RolePlacement, baseline: Baseline) -> dict[str, Any]:
        sizing = EC2.sizing(placement)
        stack = baseline.config.stack
        sg = aws.ec2.SecurityGroup(
            self.child_name("sg"),
            vpc_id=baseline.network.vpc_id,
            description=f"docpipe {placement.role} workers: egress only",
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"]
                )
            ],
            tags=tags(stack, self.component_name),
            opts=self.opts(),
        )
        logs = aws.cloudwatch.LogGroup(
            self.child_name("logs"),
            name=f"/docpipe/{stack}/{placement.role}",
            retention_in_days=LOG_RETENTION_DAYS,
            opts=self.opts(),
        )
        role = aws.iam.Role(
            self.child_name("role"),
            assume_role_policy=assume_role_policy("ec2.amazonaws.com"),
            opts=self.opts(),
        )
        # The actions of the code paths this role runs here (workers/aws_actions.py), nothing else.
        statements = role_statements(placement, baseline, log_group_arn=logs.arn)
        aws.iam.RolePolicy(
            self.child_name("policy"), role=role.id, policy=policy_document(statements), opts=self.opts()
        )
        profile = aws.iam.InstanceProfile(self.child_name("profile"), role=role.name, opts=self.opts())
        env = worker_env(placement, baseline)
        image = baseline.image_ref(sizing.architecture)
        user_data = pulumi.Output.all(image, logs.name, env).apply(
            lambda args: _user_data(
                placement.role, str(args[0]), str(args[1]), dict(args[2]), baseline.config.aws_region
            )
        )
        template = aws.ec2.LaunchTemplate(
            self.child_name("template"),
            image_id=instance_ami(sizing.instance_type),
            instance_type=sizing.instance_type,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_tokens="required", http_endpoint="enabled", http_put_response_hop_limit=2
            ),
            network_interfaces=[
                aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                    device_index=0,
                    associate_public_ip_address="true" if PUBLIC_IPV4 else "false",
                    delete_on_termination="true",
                    security_groups=[sg.id],
                )
            ],
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=sizing.volume_gb, volume_type="gp3", encrypted="true"
                    ),
                )
            ],
            user_data=user_data,
            update_default_version=True,
            tags=tags(stack, self.component_name),
            opts=self.opts(),
        )
        group = aws.autoscaling.Group(
            self.child_name("asg"),
            min_size=sizing.min_size,
            desired_capacity=sizing.desired_capacity,
            max_size=sizing.max_size,
            vpc_zone_identifiers=baseline.network.public_subnet_ids,
            # The template's version number, not "$Latest": a new image or user data is a new version,
            # so the group's own input changes and its instance refresh rolls the instances (AWS
            # starts no refresh for "$Latest").
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(strategy="Rolling"),
            tags=[
                aws.autoscaling.GroupTagArgs(
                    key="Name", value=f"docpipe-{stack}-{placement.role}", propagate_at_launch=True
                ),
                aws.autoscaling.GroupTagArgs(key="docpipe:stack", value=stack, propagate_at_launch=True),
            ],
            opts=self.opts(),
        )
        return {
            "target": self.target,
            "autoScalingGroup": group.name,
            "launchTemplateId": template.id,
            "instanceRoleArn": role.arn,
            "image": image,
        }


def _user_data(role: str, image: str, log_group: str, env: dict[str, Any], region: str) -> str:
    """Boot script: pull the image and run the role's worker; Docker stops it with a drain window.

    The worker's own drain grace comes with its environment (docpipe.targets.ec2).
    """
    env_file = "\n".join(f"{k}={v}" for k, v in sorted(env.items()))
    registry = image.split("/", 1)[0]
    script = f"""#!/bin/bash
set -euo pipefail
dnf install -y docker
systemctl enable --now docker
cat > /etc/docpipe.env <<'EOF'
{env_file}
EOF
aws ecr get-login-password --region {region} | docker login --username AWS --password-stdin {registry}
docker run -d --restart=always --name docpipe-{role} --env-file /etc/docpipe.env \\
  --stop-timeout {STOP_TIMEOUT_SECONDS} --log-driver=awslogs \\
  --log-opt awslogs-region={region} --log-opt awslogs-group={shlex.quote(log_group)} \\
  {shlex.quote(image)} docpipe worker {role}
"""
    return base64.b64encode(script.encode()).decode()
