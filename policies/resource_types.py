"""Every resource type token the policies look for, in one place.

A token is what the engine calls a resource type (`aws:lambda/function:Function`); a policy that
misspells one silently never runs, so each is written once, here, and imported where it is used.
Grouped by provider and service; tuples list the versions of a resource a provider offers (the
`V2` S3 resources) or the variants one policy treats alike.

(Not called `types.py`: the CLI runs the pack with this directory on `sys.path`, where that name
would shadow the standard library's `types`.)
"""

from __future__ import annotations

# --- AWS: compute ------------------------------------------------------------------------------
LAMBDA_FUNCTION = "aws:lambda/function:Function"
PROVISIONED_CONCURRENCY = "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EC2_INSTANCE = "aws:ec2/instance:Instance"

# --- AWS: network ------------------------------------------------------------------------------
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
VPC_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"

# --- AWS: database and cache -------------------------------------------------------------------
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
SERVERLESS_CACHE = "aws:elasticache/serverlessCache:ServerlessCache"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_CLUSTER = "aws:elasticache/cluster:Cluster"

# --- AWS: S3 -----------------------------------------------------------------------------------
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SSE_CONFIGS = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
BUCKET_ACLS = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")

# --- AWS: IAM ----------------------------------------------------------------------------------
IAM_POLICY = "aws:iam/policy:Policy"
IAM_ROLE = "aws:iam/role:Role"
IAM_INLINE = (
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
IAM_ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)

# --- GCP: Cloud Run ----------------------------------------------------------------------------
CLOUD_RUN_WORKER_POOL = "gcp:cloudrunv2/workerPool:WorkerPool"
CLOUD_RUN_SERVICE = "gcp:cloudrunv2/service:Service"
CLOUD_RUN_JOB = "gcp:cloudrunv2/job:Job"

# --- Temporal Cloud ----------------------------------------------------------------------------
TEMPORAL_NAMESPACE = "temporalcloud:index/namespace:Namespace"

# --- docpipe's own components (infra/) ---------------------------------------------------------
# Placements are `docpipe:placement:<Target>` (Ec2, CloudRun, Lambda): matched by prefix.
PLACEMENT_TYPE_PREFIX = "docpipe:placement:"
TEMPORAL_COMPONENT = "docpipe:baseline:Temporal"
