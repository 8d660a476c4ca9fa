"""`docpipe plan` as a user runs it: a subprocess, no cloud credentials."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _plan(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GOOGLE_", "PULUMI_"))}
    # Let Python cache bytecode: the provider SDKs are large and each subprocess would recompile them.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return subprocess.run(
        [sys.executable, "-m", "docpipe.cli", "plan", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_plan_prod_shows_placements_and_resources() -> None:
    done = _plan("--stack", "prod")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "== Placements" in out and "== Resources by component" in out
    assert "extraction  cloudrun" in out and "storage     lambda" in out
    assert "extraction-cloudrun [docpipe:placement:CloudRun]" in out
    assert "pulumi config set --secret docpipe:unstructuredApiKey <value>" in out
    assert "== Changes" not in out


def test_plan_set_shows_the_diff() -> None:
    done = _plan("--stack", "prod", "--set", "activities.extraction.target=ec2", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    diff = data["changes"]
    assert diff["moves"] == [{"role": "extraction", "from": "cloudrun", "to": "ec2"}]
    added = {(a["type"], a["name"]) for a in diff["resources"] if a["op"] == "create"}
    removed = {(r["type"], r["name"]) for r in diff["resources"] if r["op"] == "delete"}
    assert ("docpipe:placement:Ec2", "extraction-ec2") in added
    assert ("aws:autoscaling/group:Group", "extraction-ec2-asg") in added
    assert ("docpipe:placement:CloudRun", "extraction-cloudrun") in removed
    assert ("gcp:cloudrunv2/workerPool:WorkerPool", "extraction-cloudrun-pool") in removed
    # Nothing of another role moves.
    for _type, name in added | removed:
        assert not name.startswith(("workflow-", "analysis-", "enrichment-", "storage-")), name
    assert data["placements"]["roles"]["extraction"]["target"] == "ec2"


def test_plan_bad_config_exits_non_zero_with_the_message() -> None:
    done = _plan("--stack", "prod", "--set", "activities.extraction.target=ecs")
    assert done.returncode != 0
    assert "docpipe:activities.extraction.target: 'ecs' is not valid" in done.stderr
    assert "did you mean 'ec2'?" in done.stderr
    assert done.stdout == ""


def test_plan_unknown_stack_lists_the_stacks() -> None:
    done = _plan("--stack", "staging")
    assert done.returncode != 0
    assert "stacks here: dev, prod" in done.stderr
