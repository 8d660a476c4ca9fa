"""The Google APIs the plan's GCP resources need, enabled by the program (`gcp.projects.Service`).

A fresh project has none of them on, and the first resource of each kind fails until its API is
enabled (Temporal's Cloud Run guide lists Cloud Run and Artifact Registry; its scaler impersonates
through the IAM Credentials API; CREMA reads Parameter Manager and is invoked by Cloud Scheduler).
`needed_services(plan)` says which, and why; every GCP resource depends on the services of its kind.
`disable_on_destroy=False`: other workloads in the project may use them, and disabling an API is
not undone by re-enabling it (its resources are gone).
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from docpipe.config import GcpConfig
from docpipe.plan import PlacementPlan
from docpipe.targets.cloudrun import TARGET as CLOUD_RUN
from infra.common import child

# API name → why the plan needs it.
ALWAYS: dict[str, str] = {
    "run.googleapis.com": "Cloud Run worker pools",
    "artifactregistry.googleapis.com": "the worker image's Artifact Registry repository",
    "iam.googleapis.com": "the pools' service accounts",
    "secretmanager.googleapis.com": "backend and Temporal API keys the pools read",
}
TEMPORAL: dict[str, str] = {
    "iamcredentials.googleapis.com": "Temporal impersonates each pool's scaler account (scaler temporal)",
}
CREMA: dict[str, str] = {
    "parametermanager.googleapis.com": "the CremaConfig CREMA reads (scaler crema)",
    "cloudscheduler.googleapis.com": "the job that invokes CREMA (scaler crema)",
}


def needed_services(plan: PlacementPlan) -> dict[str, str]:
    """The APIs the plan's GCP resources need, each with the reason (empty when no role is on GCP)."""
    if not plan.uses_gcp:
        return {}
    scalers = {CLOUD_RUN.sizing(p).scaler for p in plan.on(CLOUD_RUN.key)}
    found = dict(ALWAYS)
    if "temporal" in scalers:
        found.update(TEMPORAL)
    if "crema" in scalers:
        found.update(CREMA)
    return found


class GcpServices(pulumi.ComponentResource):
    """One `gcp.projects.Service` per API the plan needs; `of(api)` for a resource's depends_on."""

    def __init__(
        self,
        name: str,
        plan: PlacementPlan,
        gcp_config: GcpConfig,
        provider: gcp.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        wanted = needed_services(plan)
        super().__init__("docpipe:baseline:GcpServices", name, {"services": sorted(wanted)}, opts)
        self.services: dict[str, gcp.projects.Service] = {
            api: gcp.projects.Service(
                f"{name}-{api.split('.', 1)[0]}",
                project=gcp_config.project,
                service=api,
                disable_on_destroy=False,
                opts=child(self, provider=provider),
            )
            for api in sorted(wanted)
        }
        self.register_outputs({"services": sorted(wanted)})

    def of(self, *apis: str) -> list[pulumi.Resource]:
        """The Service resources of `apis` (short names like `run` or full API names)."""
        full = [a if "." in a else f"{a}.googleapis.com" for a in apis]
        return [self.services[a] for a in full if a in self.services]
