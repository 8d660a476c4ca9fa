"""Hand-built compliant resources for a stack, shaped as a mocks run records them.

Used until the program's own mocks harness (`infra.offline`) is available, and for resource kinds
the program does not declare (replication groups, bucket ACLs, plain EC2 instances). Inputs use the
engine's camelCase names (checked against the provider SDKs' `*Args` classes) and floats for
numbers, exactly as `MessageToDict` gives them.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from docpipe.config import StackConfig
from docpipe.plan import PlacementPlan, RolePlacement, build_plan
from docpipe.stackfile import load_stack
from policies.runner import StackResource
from workers.contract import Env

ROOT = Path(__file__).resolve().parents[2]
ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:docpipe"


def plan_of(stack: str, *overrides: str) -> PlacementPlan:
    config, _ = load_stack(stack, ROOT, overrides, placeholder_secrets=True)
    return build_plan(config)


def _floats(value: Any) -> Any:
    return json.loads(json.dumps(value), parse_int=float)


def _document(*actions: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}],
        }
    )


def _baseline(stack: str) -> list[StackResource]:
    return [
        StackResource(
            "aws:ec2/securityGroup:SecurityGroup",
            "database-sg",
            {
                "description": "PostgreSQL from the VPC",
                "ingress": [
                    {"protocol": "tcp", "fromPort": 5432.0, "toPort": 5432.0, "cidrBlocks": ["10.0.0.0/16"]}
                ],
            },
        ),
        StackResource(
            "aws:rds/instance:Instance",
            "database",
            {
                "engine": "postgres",
                "instanceClass": "db.t4g.micro",
                "allocatedStorage": 20.0,
                "publiclyAccessible": False,
                "storageEncrypted": True,
                "manageMasterUserPassword": True,
                "username": "docpipe",
            },
        ),
        StackResource(
            "aws:elasticache/userGroup:UserGroup",
            "cache-users",
            {"engine": "valkey", "userGroupId": "docpipe"},
        ),
        StackResource(
            "aws:elasticache/serverlessCache:ServerlessCache",
            "cache",
            {"engine": "valkey", "userGroupId": "docpipe"},
        ),
        StackResource("aws:s3/bucket:Bucket", "documents", {"forceDestroy": False}),
        StackResource(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "documents-public-access",
            {
                "bucket": "documents_id",
                "blockPublicAcls": True,
                "blockPublicPolicy": True,
                "ignorePublicAcls": True,
                "restrictPublicBuckets": True,
            },
        ),
        StackResource(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "documents-encryption",
            {
                "bucket": "documents_id",
                "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}],
            },
        ),
    ]


def _env(p: RolePlacement, config: StackConfig) -> dict[str, str]:
    """What infra/env.py gives a worker: references and settings, never a secret value."""
    env = {
        Env.ROLE: p.role,
        Env.STACK: config.stack,
        Env.DEPLOYMENT_NAME: p.deployment_name,
        Env.BUCKET: "documents_id",
        Env.SECRET_REFS: json.dumps({s: f"{ARN}-{s}" for s in p.secrets}),
        "TEMPORAL_ADDRESS": "docpipe.tmprl.cloud:7233",
    }
    b = config.backends
    if p.role == "extraction":
        env.update(
            {Env.EXTRACTION_BACKEND: b.extraction.kind, Env.UNSTRUCTURED_STRATEGY: b.extraction.strategy}
        )
    elif p.role == "analysis":
        env.update({Env.ANALYSIS_BACKEND: b.analysis.kind, Env.MODEL_PROVIDER: b.analysis.provider})
        if b.analysis.model_id:
            env[Env.MODEL_ID] = b.analysis.model_id
    elif p.role == "enrichment":
        env.update(
            {
                Env.ENRICHMENT_BACKEND: b.enrichment.kind,
                Env.ENRICHMENT_TIMEOUT_SECONDS: str(b.enrichment.timeout_seconds),
            }
        )
    return env


def _placement(p: RolePlacement, config: StackConfig) -> list[StackResource]:
    component_type = {"ec2": "Ec2", "cloudrun": "CloudRun", "lambda": "Lambda"}[p.target]
    component = f"{p.role}-{p.target}"
    d = p.to_dict()
    props = {
        "role": p.role,
        "target": p.target,
        "sizing": d["sizing"],
        "taskQueue": p.task_queue,
        "deploymentName": p.deployment_name,
        "activityTimeoutSeconds": p.activity_timeout_seconds,
    }
    out = [StackResource(f"docpipe:placement:{component_type}", component, _floats(props))]
    role_policy = _document("s3:GetObject", "s3:PutObject", "secretsmanager:GetSecretValue")
    if p.target == "lambda":
        s = p.lambda_
        out += [
            StackResource(
                "aws:iam/role:Role",
                f"{component}-role",
                {
                    "assumeRolePolicy": json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Principal": {"Service": "lambda.amazonaws.com"},
                                    "Action": "sts:AssumeRole",
                                }
                            ],
                        }
                    ),
                    "inlinePolicies": [{"name": "worker", "policy": role_policy}],
                },
                component,
            ),
            StackResource(
                "aws:lambda/function:Function",
                f"{component}-function",
                _floats(
                    {
                        "packageType": "Image",
                        "imageUri": "123.dkr.ecr.us-east-1.amazonaws.com/docpipe:latest",
                        "role": f"{component}-role_arn",
                        "memorySize": s.memory_mb,
                        "timeout": s.timeout_seconds,
                        "architectures": [s.architecture],
                        "environment": {"variables": _env(p, config)},
                        **(
                            {"reservedConcurrentExecutions": s.reserved_concurrency}
                            if s.reserved_concurrency is not None
                            else {}
                        ),
                    }
                ),
                component,
            ),
        ]
        if s.provisioned_concurrency:
            out.append(
                StackResource(
                    "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig",
                    f"{component}-provisioned",
                    {
                        "functionName": f"{component}-function",
                        "qualifier": "live",
                        "provisionedConcurrentExecutions": float(s.provisioned_concurrency),
                    },
                    component,
                )
            )
    elif p.target == "cloudrun":
        c = p.cloudrun
        envs = [{"name": k, "value": v} for k, v in _env(p, config).items()]
        envs.append(
            {"name": "E2B_API_KEY", "valueSource": {"secretKeyRef": {"secret": "e2b", "version": "latest"}}}
        )
        out.append(
            StackResource(
                "gcp:cloudrunv2/workerPool:WorkerPool",
                f"{component}-pool",
                _floats(
                    {
                        "location": "us-central1",
                        "template": {
                            "containers": [
                                {
                                    "image": "us-central1-docker.pkg.dev/p/docpipe/worker:latest",
                                    "resources": {
                                        "limits": {"cpu": str(c.cpu), "memory": f"{c.memory_mib}Mi"}
                                    },
                                    "envs": envs,
                                }
                            ]
                        },
                        "scaling": {"scalingMode": "MANUAL", "manualInstanceCount": c.min_instances},
                    }
                ),
                component,
            )
        )
    else:
        e = p.ec2
        user_data = "#!/bin/bash\nexport DOCPIPE_ROLE=" + p.role + f"\nexport DOCPIPE_SECRET_REFS={ARN}\n"
        out += [
            StackResource(
                "aws:ec2/securityGroup:SecurityGroup",
                f"{component}-sg",
                {"egress": [{"protocol": "-1", "fromPort": 0.0, "toPort": 0.0, "cidrBlocks": ["0.0.0.0/0"]}]},
                component,
            ),
            StackResource(
                "aws:ec2/launchTemplate:LaunchTemplate",
                f"{component}-template",
                {
                    "instanceType": e.instance_type,
                    "userData": base64.b64encode(user_data.encode()).decode(),
                    "metadataOptions": {
                        "httpTokens": "required",
                        "httpEndpoint": "enabled",
                        "httpPutResponseHopLimit": 2.0,
                    },
                },
                component,
            ),
            StackResource(
                "aws:autoscaling/group:Group",
                f"{component}-asg",
                _floats(
                    {"minSize": e.min_size, "maxSize": e.max_size, "desiredCapacity": e.desired_capacity}
                ),
                component,
            ),
        ]
    return out


def stack_resources(stack: str, *overrides: str) -> list[StackResource]:
    """Compliant resources for a stack file (with `--set`-style overrides applied to its plan)."""
    plan = plan_of(stack, *overrides)
    resources = _baseline(stack)
    for p in plan:
        resources += _placement(p, plan.config)
    return resources
