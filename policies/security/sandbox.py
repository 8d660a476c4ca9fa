"""`enrichment-sandbox-deployable`: no deployed worker runs model-written code in `local-sandbox`.

The local-sandbox backend runs each program in bubblewrap (docs/sandbox.md), which needs
unprivileged user namespaces. Lambda does not offer them, and neither does a container under
Docker's default seccomp profile (the EC2 workers) or Cloud Run's sandbox: there the worker refuses
to start rather than run the code less isolated. A deployed stack uses E2B instead.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs
from pydantic import Field

from policies.common import PolicyConfig, resource_policy
from policies.security.secrets import ENVIRONMENT_TYPES, environment
from workers.contract import Env


class SandboxConfig(PolicyConfig):
    """Config of `enrichment-sandbox-deployable`."""

    refused_backends: list[str] = Field(
        default=["local-sandbox"],
        description="Enrichment backends (DOCPIPE_ENRICHMENT_BACKEND) a deployed worker may not run.",
    )


def check_sandbox(args: ResourceValidationArgs, config: SandboxConfig, report: ReportViolation) -> None:
    for _where, name, value in environment(args):
        if name == Env.ENRICHMENT_BACKEND and value in config.refused_backends:
            report(
                f"{args.name!r} would run enrichment code in the local-sandbox backend, whose "
                "bubblewrap sandbox needs user namespaces this platform refuses (the worker would "
                "not start): set backends.enrichment.kind=e2b for a deployed stack (docpipe dev "
                "keeps running local-sandbox on this machine)",
                None,
            )


enrichment_sandbox_deployable = resource_policy(
    name="enrichment-sandbox-deployable",
    description="No deployed worker runs model-written code in the local-sandbox backend.",
    remediation="Set backends.enrichment.kind=e2b (and the e2bApiKey secret) for a deployed stack.",
    types=ENVIRONMENT_TYPES,
    config=SandboxConfig,
    check=check_sandbox,
)
