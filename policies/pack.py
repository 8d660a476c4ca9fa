"""The docpipe policy pack's contents: its name and every policy, in the order they report.

`policies/__main__.py` hands this list to `PolicyPack` (which starts the analyzer server); tests and
`docpipe plan` run the same list in-process through `policies.runner`.
"""

from __future__ import annotations

from pulumi_policy import Policy

from policies.cost import COST_POLICIES
from policies.placement import PLACEMENT_POLICIES
from policies.security import SECURITY_POLICIES

PACK_NAME = "docpipe"
PACK_DESCRIPTION = (
    "docpipe's guard rails: the monthly cost cap and per-role burst cap from the project's cost model, "
    "serverless roles that scale to zero, Lambda timeouts that fit their activities, and the security "
    "baseline (private encrypted data stores and bucket, no wildcard IAM, no plaintext secrets, no open "
    "ingress, IMDSv2)."
)

POLICIES: list[Policy] = [*COST_POLICIES, *PLACEMENT_POLICIES, *SECURITY_POLICIES]


def policy(name: str) -> Policy:
    """A policy of the pack by name."""
    found = next((p for p in POLICIES if p.name == name), None)
    if found is None:
        raise KeyError(f"no policy {name!r}; policies: {', '.join(p.name for p in POLICIES)}")
    return found
