"""Deployment settings the Pulumi program and the cost model both read, declared once here.

Each is a fixed choice of docpipe's baseline (not a stack setting); the cost model prices exactly
what `infra/` declares with them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from docpipe.plan import PlacementPlan

# CloudWatch log groups of the AWS-hosted workers and the starter keep this many days of logs.
LOG_RETENTION_DAYS: Final = 30
# The starter: the Lambda each upload to the bucket invokes to start a workflow.
STARTER_MEMORY_MB: Final = 512
STARTER_TIMEOUT_SECONDS: Final = 60
STARTER_ARCHITECTURE: Final = "arm64"


def image_architectures(plan: PlacementPlan) -> list[str]:
    """CPU architectures of the worker images the plan builds and pushes to ECR (the starter's too)."""
    return sorted({STARTER_ARCHITECTURE, *(p.target_unit.architecture(p.sizing) for p in plan)})
