"""The worker image: one Dockerfile, built once per CPU architecture the plan needs.

`docker.Image` builds and pushes to ECR (Lambda can only run images from ECR). Cloud Run runs only
linux/amd64 images while Graviton EC2 and arm64 Lambdas need linux/arm64, and pulumi-docker's
`Image` builds one platform, so a stack that mixes them gets one build per architecture (same
source, same tag, `-arm64` / `-amd64` suffix). When a role is on Cloud Run the amd64 image is also
tagged for Artifact Registry and pushed there (`docker.Tag` + `docker.RegistryImage`), so both
clouds run the same build. The stack's `imageTag` is the Worker Deployment build id.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker
import pulumi_gcp as gcp

from docpipe.config import GcpConfig
from infra.baseline.registry import Registries
from infra.common import child

REPO_ROOT = Path(__file__).resolve().parents[2]


def by_digest(ref: str, digest: str | None) -> str:
    """`host/path:tag` as `host/path@sha256:…` (unchanged while the digest is unknown, in a preview)."""
    if not digest:
        return ref
    head, _, last = ref.rpartition("/")
    return f"{head}/{last.split(':', 1)[0].split('@', 1)[0]}@{digest}"


class WorkerImage(pulumi.ComponentResource):
    """The worker image and its references in each registry."""

    ecr_ref: pulumi.Output[str]
    ar_ref: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        *,
        tag: str,
        platform: str,
        registries: Registries,
        gcp_config: GcpConfig | None,
        gcp_provider: gcp.Provider | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("docpipe:baseline:WorkerImage", name, {"tag": tag, "platform": platform}, opts)
        arch = platform.rsplit("/", 1)[-1]
        token = aws.ecr.get_authorization_token_output(opts=pulumi.InvokeOutputOptions(parent=self))
        image_name = pulumi.Output.concat(registries.ecr_url, ":", tag, "-", arch)
        image = docker.Image(
            f"{name}-build",
            image_name=image_name,
            build=docker.DockerBuildArgs(
                context=str(REPO_ROOT),
                dockerfile=str(REPO_ROOT / "Dockerfile"),
                platform=platform,
            ),
            registry=docker.RegistryArgs(
                server=registries.ecr_url,
                username=token.user_name,
                password=pulumi.Output.secret(token.password),
            ),
            opts=child(self),
        )
        # Lambda and EC2 run the digest, so a rebuilt image under the same tag still rolls out.
        self.ecr_ref = image.repo_digest.apply(lambda d: d or "")
        self.ar_ref = None
        if registries.ar_url is not None and gcp_config is not None and gcp_provider is not None:
            target = pulumi.Output.concat(registries.ar_url, ":", tag)
            digest = image.repo_digest.apply(lambda d: d or "")
            # Re-tag whenever the build's digest changes (a rebuild under the same tag included).
            retag = docker.Tag(
                f"{name}-ar-tag",
                source_image=image.image_name,
                target_image=target,
                tag_triggers=[digest],
                opts=child(self),
            )
            client = gcp.organizations.get_client_config_output(
                opts=pulumi.InvokeOutputOptions(parent=self, provider=gcp_provider)
            )
            pushed = docker.RegistryImage(
                f"{name}-ar-push",
                name=retag.target_image,
                keep_remotely=True,
                triggers={"digest": digest},
                auth_config=docker.RegistryImageAuthConfigArgs(
                    address=f"{gcp_config.region}-docker.pkg.dev",
                    username="oauth2accesstoken",
                    password=pulumi.Output.secret(client.access_token),
                ),
                opts=child(self),
            )
            # Cloud Run runs the pushed digest, never the mutable tag: a rebuild is a new revision.
            self.ar_ref = pulumi.Output.all(pushed.name, pushed.sha256_digest).apply(
                lambda args: by_digest(str(args[0]), args[1])
            )
        self.register_outputs({"ecrRef": self.ecr_ref, "artifactRegistryRef": self.ar_ref})
