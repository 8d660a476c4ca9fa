"""docpipe on AWS (and GCP for Cloud Run roles): the shared baseline plus one placement per role.

Reads the stack's `docpipe:*` config, validates it (a ConfigError stops the run before any resource
is declared), derives the PlacementPlan, declares the baseline (VPC, PostgreSQL, Valkey, Temporal,
document bucket + starter, registries, worker image, secrets), each role's placement (EC2 / Cloud
Run / Lambda) and Worker Deployment version, and exports the per-role outputs and the plan.
"""

from pathlib import Path

import pulumi

from docpipe.plan import build_plan
from docpipe.stackfile import config_from_flat
from infra.program import build_stack, engine_config, read_secrets

# The project root holds the Dockerfile whose build context names the build (imageTag unset).
config = config_from_flat(pulumi.get_stack(), engine_config(), root=Path(__file__).resolve().parents[1])
plan = build_plan(config)
outputs = build_stack(plan, read_secrets(plan))
for name, value in outputs.items():
    pulumi.export(name, value)
