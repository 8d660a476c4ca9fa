"""The program's body: baseline, one placement per role, Worker Deployment versions, outputs.

`build_stack(plan, secrets)` declares everything and returns the stack outputs; `infra/__main__.py`
exports them, and the offline harness (`infra.offline`) runs the same code under mocks.
`engine_config()` and `read_secrets()` read what the Pulumi engine passes to the program.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi.runtime.config as runtime_config

from docpipe.config import NAMESPACE, SECRET_NAMES, SecretName
from docpipe.plan import PlacementPlan
from docpipe.stackfile import FlatConfig
from infra.baseline import build_baseline, required_architectures
from infra.placements import placement_for
from infra.versioning import WorkerDeploymentVersion


def engine_config() -> FlatConfig:
    """The config the engine handed to this program, as docpipe.stackfile.FlatConfig."""
    values = dict(runtime_config.CONFIG.get()) or dict(runtime_config.get_config_env())
    secret_keys = {k for k in values if runtime_config.is_config_secret(k)}
    secret_keys.update(runtime_config.get_config_secret_keys_env())
    return FlatConfig({k: str(v) for k, v in values.items()}, frozenset(secret_keys))


def read_secrets(plan: PlacementPlan) -> dict[SecretName, pulumi.Output[str]]:
    """The backend secrets the plan needs, as secret Outputs (never plain values)."""
    config = pulumi.Config(NAMESPACE)
    wanted = set(plan.config.required_secrets())
    found: dict[SecretName, pulumi.Output[str]] = {}
    for name in SECRET_NAMES:
        if name in wanted:
            value = config.get_secret(name)
            if value is not None:
                found[name] = value
    return found


class WorkerVersioning(pulumi.ComponentResource):
    """Groups the per-role Worker Deployment versions (named by role, so a flip updates in place)."""

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("docpipe:baseline:WorkerVersioning", name, {}, opts)
        self.register_outputs({})


def build_stack(plan: PlacementPlan, secrets: dict[SecretName, pulumi.Output[str]]) -> dict[str, Any]:
    """Declare the stack for `plan`; return its outputs."""
    config = plan.config
    baseline = build_baseline(plan, secrets)
    versioning = WorkerVersioning("worker-versioning")
    roles: dict[str, Any] = {}
    components = []
    for placement in plan:
        component = placement_for(placement.target)(placement, baseline)
        components.append(component)
        WorkerDeploymentVersion(
            f"{placement.role}-deployment-version",
            address=baseline.temporal.address,
            namespace=baseline.temporal.namespace,
            deployment_name=placement.deployment_name,
            build_id=config.build_id,
            tls=baseline.temporal.tls,
            api_key=baseline.temporal.api_key,
            compute=component.compute,
            metadata={
                "docpipe.stack": config.stack,
                "docpipe.role": placement.role,
                "docpipe.target": placement.target,
                "managed-by": "pulumi",
            },
            opts=pulumi.ResourceOptions(parent=versioning, depends_on=[component]),
        )
        roles[placement.role] = {
            "target": placement.target,
            "taskQueue": placement.task_queue,
            "deploymentName": placement.deployment_name,
            **component.outputs,
        }
    for target in sorted(plan.targets):  # once-per-stack parts of a target (Cloud Run: CREMA)
        placement_for(target).shared(components, baseline)
    images = {arch: image.ecr_ref for arch, image in baseline.images.items()}
    outputs: dict[str, Any] = {
        "roles": roles,
        "temporalAddress": baseline.temporal.address,
        "temporalNamespace": baseline.temporal.namespace,
        "bucket": baseline.bucket.name,
        "images": images,
        "imageArchitectures": required_architectures(plan),
        "buildId": config.build_id,
        "plan": plan.to_dict(),
    }
    for image in baseline.images.values():
        if image.ar_ref is not None:
            outputs["artifactRegistryImage"] = image.ar_ref
    outputs["valkeyUrl"] = baseline.cache.url
    # Uploads under this prefix start workflows (`aws s3 cp doc.pdf s3://$bucket/$uploadPrefix`).
    outputs["uploadPrefix"] = baseline.bucket.upload_prefix
    outputs["databaseHost"] = baseline.database.address
    return outputs
