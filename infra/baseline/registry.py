"""Where the worker image lives: ECR always, Artifact Registry only when a role is on Cloud Run.

Both go on `pulumi destroy` with their images: ECR through `force_delete`; deleting an Artifact
Registry repository deletes its contents anyway (the API has no non-empty check to override).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from docpipe.config import GcpConfig
from infra.common import child, tags

REPOSITORY = "docpipe-worker"


class Registries(pulumi.ComponentResource):
    """ECR repository (+ an Artifact Registry Docker repository when the plan uses GCP)."""

    ecr_url: pulumi.Output[str]
    ecr_arn: pulumi.Output[str]
    ar_url: pulumi.Output[str] | None
    ar_repository: gcp.artifactregistry.Repository | None

    def __init__(
        self,
        name: str,
        stack: str,
        gcp_config: GcpConfig | None,
        gcp_provider: gcp.Provider | None,
        opts: pulumi.ResourceOptions | None = None,
        *,
        gcp_depends: Sequence[pulumi.Resource] = (),
    ) -> None:
        super().__init__("docpipe:baseline:Registries", name, {"gcp": gcp_config is not None}, opts)
        ecr = aws.ecr.Repository(
            f"{name}-ecr",
            name=f"{REPOSITORY}-{stack}",
            image_tag_mutability="MUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[
                aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")
            ],
            # Only build output lives here (every image is rebuilt from the source), so `pulumi destroy`
            # deletes the repository with its images instead of stopping on a non-empty one.
            force_delete=True,
            tags=tags(stack, "registry"),
            opts=child(self),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-ecr-lifecycle",
            repository=ecr.name,
            policy=(
                '{"rules":[{"rulePriority":1,"description":"keep the last 20 images",'
                '"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":20},'
                '"action":{"type":"expire"}}]}'
            ),
            opts=child(self),
        )
        self.ecr_url = ecr.repository_url
        self.ecr_arn = ecr.arn
        self.ar_url = None
        self.ar_repository = None
        if gcp_config is not None and gcp_provider is not None:
            repo = gcp.artifactregistry.Repository(
                f"{name}-artifact-registry",
                repository_id=f"{REPOSITORY}-{stack}",
                project=gcp_config.project,
                location=gcp_config.region,
                format="DOCKER",
                description="docpipe worker image for Cloud Run worker pools",
                opts=child(self, provider=gcp_provider, depends_on=list(gcp_depends)),
            )
            self.ar_repository = repo
            self.ar_url = pulumi.Output.concat(
                gcp_config.region, "-docker.pkg.dev/", gcp_config.project, "/", repo.repository_id, "/worker"
            )
        self.register_outputs({"ecrUrl": self.ecr_url, "artifactRegistryUrl": self.ar_url})
