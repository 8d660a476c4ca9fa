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
    assert "runtime" in data and data["runtime"]["buildId"].startswith("src-")


def test_a_flip_shows_creates_deletes_and_the_unchanged() -> None:
    data = _plan("--stack", "prod", "--set", "activities.storage.target=ec2")
    ops = {s["urn"].rsplit("::", 1)[1]: s["op"] for s in data["steps"]}
    assert ops["storage-ec2-asg"] == "create"
    assert ops["storage-lambda-function"] == "delete"
    assert ops["database-postgres"] == "same"
    summary = data["changeSummary"]
    assert summary["create"] > 0 and summary["delete"] > 0 and summary["same"] > 0
    assert sum(summary.values()) == len(data["steps"])


def test_plan_json_uses_data_keys_and_resources_are_objects() -> None:
    data = _plan("--stack", "prod", "--set", "activities.storage.target=ec2")
    assert {"placements", "runtime", "resources", "outputs", "policy", "changes"} <= set(data)
    assert not [k for k in data if " " in k or k[0].isupper()]  # no display titles
    bucket = next(r for r in data["resources"] if r["name"] == "documents-bucket")
    assert bucket["type"] == "aws:s3/bucket:Bucket" and bucket["component"]
    changes = data["changes"]
    assert {"op": "create", "type": "aws:autoscaling/group:Group", "name": "storage-ec2-asg"} in changes[
        "resources"
    ]
    assert changes["monthlyUsdAfter"] < changes["monthlyUsdBefore"]  # lambda → ec2 is cheaper for prod
    assert changes["changeSummary"] == data["changeSummary"]


def test_plan_json_is_identical_across_runs() -> None:
    from .helpers import run_python

    argv = ["-m", "docpipe.cli", "plan", "--stack", "dev", "--json", "--set", "imageTag=same"]
    first = run_python(argv, {"PYTHONHASHSEED": "1"})
    assert first == run_python(argv, {"PYTHONHASHSEED": "2"})


def test_plan_text_reads_like_pulumi_preview_and_fits_80_columns(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["plan", "--stack", "prod", "--set", "activities.storage.target=ec2"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "== Changes vs the unchanged stack"
    assert lines[2].startswith("monthly cost ") and "USD (-" in lines[2]  # the cost delta up front
    assert any(line.split()[:3] == ["+", "aws:autoscaling:Group", "storage-ec2-asg"] for line in lines)
    assert any(line.split()[:2] == ["-", "aws:lambda:Function"] for line in lines)
    summary = next(line for line in lines if line.startswith("Resources: "))
    assert " to create, " in summary and " to delete, " in summary and summary.endswith(" unchanged")
    assert "== Outputs" in lines
    assert max(len(line) for line in lines) <= 80
