"""`docpipe plan --json` shaped like `pulumi preview --json`: steps with every resource's inputs."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

from docpipe.cli import main


def _plan(*argv: str) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["plan", "--json", *argv]) == 0
    data: dict[str, Any] = json.loads(out.getvalue())
    return data


def test_every_resource_is_a_step_with_its_inputs_and_secrets_masked() -> None:
    data = _plan("--stack", "prod")
    steps = data["steps"]
    assert data["changeSummary"] == {"create": len(steps)}
    names = {s["newState"]["urn"].rsplit("::", 1)[1] for s in steps}
    assert {"enrichment-lambda-function", "documents-bucket", "database-postgres"} <= names
    for step in steps:
        assert step["op"] == "create" and step["type"] == step["newState"]["type"]
        assert step["urn"].startswith("urn:pulumi:prod::docpipe::") and "inputs" in step["newState"]
    function = next(s for s in steps if s["urn"].endswith("::enrichment-lambda-function"))
    variables = function["newState"]["inputs"]["environment"]["variables"]
    assert variables["DOCPIPE_ROLE"] == "enrichment"
    assert variables["DOCPIPE_LAMBDA_DEADLINE_BUFFER_SECONDS"] == "304"
    text = json.dumps(steps)
    assert "[placeholder]" not in text  # the planned secret values never appear, only "[secret]"
    assert '"[secret]"' in text
    assert "Runtime" in data and data["Runtime"]["buildId"].startswith("src-")


def test_a_flip_shows_creates_deletes_and_the_unchanged() -> None:
    data = _plan("--stack", "prod", "--set", "activities.storage.target=ec2")
    ops = {s["urn"].rsplit("::", 1)[1]: s["op"] for s in data["steps"]}
    assert ops["storage-ec2-asg"] == "create"
    assert ops["storage-lambda-function"] == "delete"
    assert ops["database-postgres"] == "same"
    summary = data["changeSummary"]
    assert summary["create"] > 0 and summary["delete"] > 0 and summary["same"] > 0
    assert sum(summary.values()) == len(data["steps"])
