"""What the pack tells the Pulumi CLI about each policy, against a committed golden file.

Name, kind, enforcement level, description, remediation and config schema are the pack's interface:
the CLI shows them, validates `--policy-pack-config` files against the schema and fills its
defaults in. The golden file pins them so a refactor of the pack proves it changed none of them.
Regenerate after an intended change with `DOCPIPE_UPDATE_GOLDEN=1 .venv/bin/pytest
tests/policies/test_pack_info.py` and say in the commit why the interface moved.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pulumi_policy import Policy, ResourceValidationPolicy

from policies.pack import POLICIES

GOLDEN = Path(__file__).resolve().parent / "golden" / "pack-info.json"


def _info(policy: Policy) -> dict[str, Any]:
    schema = policy.config_schema
    return {
        "name": policy.name,
        "kind": "resource" if isinstance(policy, ResourceValidationPolicy) else "stack",
        "enforcementLevel": policy.enforcement_level.value if policy.enforcement_level else None,
        "description": policy.description,
        "remediation": policy.remediation_steps,
        "configSchema": None
        if schema is None
        else {"properties": schema.properties, "required": list(schema.required or [])},
    }


def test_pack_info_matches_golden() -> None:
    got = json.dumps([_info(p) for p in POLICIES], indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("DOCPIPE_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(got, encoding="utf-8")
    assert GOLDEN.exists(), f"{GOLDEN.name} is missing; generate it with DOCPIPE_UPDATE_GOLDEN=1"
    assert got == GOLDEN.read_text(encoding="utf-8"), f"the pack's policy info differs from {GOLDEN.name}"
