"""Backend API keys as secrets: Secrets Manager always, Secret Manager for Cloud Run roles.

Values come in as Pulumi secrets (`pulumi config set --secret`) and go straight into secret
versions; workers only ever receive references (ARNs / secret names).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from docpipe.config import GcpConfig, SecretName
from infra.common import as_secret, child, tags


def _kebab(name: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in name)


class Secrets(pulumi.ComponentResource):
    """One secret per backend key, in each cloud that needs it."""

    aws_arns: dict[str, pulumi.Output[str]]
    gcp_ids: dict[str, pulumi.Output[str]]
    # The version holding each GCP secret's value: what reads `latest` must wait for.
    gcp_versions: dict[str, gcp.secretmanager.SecretVersion]

    def __init__(
        self,
        name: str,
        *,
        stack: str,
        values: Mapping[SecretName, pulumi.Output[str]],
        gcp_names: set[str],
        gcp_config: GcpConfig | None,
        gcp_provider: gcp.Provider | None,
        opts: pulumi.ResourceOptions | None = None,
        gcp_depends: Sequence[pulumi.Resource] = (),
    ) -> None:
        super().__init__("docpipe:baseline:Secrets", name, {"names": sorted(values)}, opts)
        self.aws_arns = {}
        self.gcp_ids = {}
        self.gcp_versions = {}
        self._gcp_depends = list(gcp_depends)
        for key, value in values.items():
            slug = _kebab(key)
            secret = aws.secretsmanager.Secret(
                f"{name}-{slug}",
                description=f"docpipe {key}",
                recovery_window_in_days=7,
                tags=tags(stack, "secrets"),
                opts=child(self),
            )
            aws.secretsmanager.SecretVersion(
                f"{name}-{slug}-value",
                secret_id=secret.id,
                secret_string=as_secret(value),
                opts=child(self),
            )
            self.aws_arns[key] = secret.arn
        if gcp_config is not None and gcp_provider is not None:
            by_name: dict[str, pulumi.Output[str]] = {str(k): v for k, v in values.items()}
            for gname in sorted(gcp_names):
                self.add_gcp(
                    name,
                    stack=stack,
                    key=gname,
                    value=by_name[gname],
                    gcp_config=gcp_config,
                    gcp_provider=gcp_provider,
                )
        self.register_outputs({"awsArns": self.aws_arns})

    def add_gcp(
        self,
        prefix: str,
        *,
        stack: str,
        key: str,
        value: pulumi.Output[str],
        gcp_config: GcpConfig,
        gcp_provider: gcp.Provider,
    ) -> pulumi.Output[str]:
        slug = _kebab(key)
        secret = gcp.secretmanager.Secret(
            f"{prefix}-gcp-{slug}",
            secret_id=f"docpipe-{stack}-{slug}",
            project=gcp_config.project,
            replication=gcp.secretmanager.SecretReplicationArgs(
                auto=gcp.secretmanager.SecretReplicationAutoArgs()
            ),
            opts=child(self, provider=gcp_provider, depends_on=self._gcp_depends),
        )
        self.gcp_versions[key] = gcp.secretmanager.SecretVersion(
            f"{prefix}-gcp-{slug}-value",
            secret=secret.id,
            secret_data=as_secret(value),
            opts=child(self, provider=gcp_provider),
        )
        self.gcp_ids[key] = secret.secret_id
        return secret.secret_id
