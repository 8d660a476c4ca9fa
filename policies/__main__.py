"""The docpipe policy pack, as `pulumi up --policy-pack policies` runs it.

This file only assembles the pack: constructing `PolicyPack` starts the analyzer's gRPC server,
prints its port and serves until the CLI stops it. The policies live in importable modules
(policies/security/, placement.py, cost.py) with no side effects.
"""

import sys
from pathlib import Path

# The CLI runs this file by path with the pack directory on sys.path; the policies import the
# project's own modules (the cost model), so the repository root must be importable too.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.pack import PACK_DESCRIPTION, PACK_NAME, POLICIES

PolicyPack(
    name=PACK_NAME,
    policies=POLICIES,
    enforcement_level=EnforcementLevel.MANDATORY,
    description=PACK_DESCRIPTION,
)
