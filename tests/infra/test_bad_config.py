"""Bad config fails inside the program before any resource is declared, naming the config path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from docpipe.config import ConfigError
from docpipe.stackfile import FlatConfig, flat_from_stack_file
from infra.offline import OfflineRunner

ROOT = Path(__file__).resolve().parents[2]

PROD_SECRETS = ("docpipe:unstructuredApiKey", "docpipe:e2bApiKey")

# (id, --set overrides, keys to drop, path the message must name)
CASES: list[tuple[str, list[str], list[str], str]] = [
    ("unknown-target", ["activities.extraction.target=ecs"], [], "activities.extraction.target"),
    ("unknown-tier", ["tier=huge"], [], "docpipe:tier"),
    (
        "lambda-over-15-min",
        ["activities.extraction.target=lambda", "activities.extraction.lambda.timeoutSeconds=1000"],
        [],
        "activities.extraction.lambda.timeoutSeconds",
    ),
    (
        "lambda-shorter-than-activity",
        ["activities.enrichment.lambda.timeoutSeconds=100"],
        [],
        "activities.enrichment.lambda.timeoutSeconds",
    ),
    (
        "workflow-lambda-too-short",
        ["activities.workflow.lambda.timeoutSeconds=5"],
        [],
        "activities.workflow.lambda.timeoutSeconds",
    ),
    ("ec2-min-above-desired", ["activities.extraction.ec2.minSize=3"], [], "activities.extraction.ec2"),
    ("cloudrun-cpu", ["activities.analysis.cloudrun.cpu=3"], [], "activities.analysis.cloudrun.cpu"),
    (
        "cloudrun-memory",
        ["activities.analysis.cloudrun.memoryMib=100"],
        [],
        "activities.analysis.cloudrun.memoryMib",
    ),
    (
        "cloudrun-min-above-max",
        ["activities.analysis.cloudrun.minInstances=5"],
        [],
        "activities.analysis.cloudrun",
    ),
    ("unknown-activity-key", ["activities.extraction.memory=2048"], [], "unknown key 'memory'"),
    ("unknown-temporal-mode", ["temporal.mode=saas"], [], "temporal.mode"),
    ("external-without-address", ["temporal.mode=external"], [], "temporal.address"),
    ("self-hosted-with-cloudrun", ["temporal.mode=self-hosted"], [], "temporal.mode"),
    ("unknown-backend", ["backends.extraction.kind=unstructured"], [], "backends.extraction.kind"),
    ("missing-secret", [], ["docpipe:unstructuredApiKey"], "docpipe:unstructuredApiKey"),
    ("storage-cloudrun-vpc-only-db", ["activities.storage.target=cloudrun"], [], "database.reachability"),
    ("cloudrun-without-gcp", [], ["docpipe:gcp"], "gcp.project"),
    ("zero-traffic", ["traffic.filesPerDay=0"], [], "traffic.filesPerDay"),
    ("db-instance-class", ["database.instanceClass=t4g.micro"], [], "database.instanceClass"),
    ("cache-mode", ["cache.mode=cluster"], [], "cache.mode"),
    ("image-tag", ["imageTag=not a tag"], [], "imageTag"),
    (
        "lambda-architecture",
        ["activities.storage.lambda.architecture=arm"],
        [],
        "activities.storage.lambda.architecture",
    ),
]


def _flat(sets: list[str], drop: list[str]) -> FlatConfig:
    flat = flat_from_stack_file(ROOT, "prod", sets)  # not validated here: the program must do it
    values: dict[str, Any] = dict(flat.values)
    keys = set(flat.secret_keys)
    for key in PROD_SECRETS:
        values[key], _ = "placeholder-secret", keys.add(key)
    for key in drop:
        values.pop(key, None)
        keys.discard(key)
    return FlatConfig(values, frozenset(keys))


@pytest.mark.parametrize(("sets", "drop", "path"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_config_fails_before_any_resource(sets: list[str], drop: list[str], path: str) -> None:
    runner = OfflineRunner(_flat(sets, drop), "prod")
    with pytest.raises(ConfigError) as caught:
        runner.run()
    assert runner.resources == []
    assert path in str(caught.value)
    assert "placeholder-secret" not in str(caught.value)


def test_the_table_covers_at_least_fifteen_kinds() -> None:
    assert len({c[3] for c in CASES}) >= 15


def test_good_config_from_the_same_helper_runs() -> None:
    result = OfflineRunner(_flat([], []), "prod").run()
    assert len(result.resources) > 50
    assert json.loads(json.dumps(result.outputs["plan"]))["stack"] == "prod"
