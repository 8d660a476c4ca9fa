"""Bad config: every case issue 16 found silently accepted is refused before any resource.

Each row is one `--set` (or stack file) the adversarial run tried; the refusal must name the config
path, the bad value and what is valid. Fast (no services): validation is what `pulumi up`, `docpipe
plan`, `docpipe cost` and `docpipe dev` all run before they declare or start anything.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fault_stack import record

from docpipe.config import ConfigError
from docpipe.stackfile import load_stack

ROOT = Path(__file__).resolve().parents[2]

# (case, --set overrides, every fragment the refusal must contain)
REFUSED: list[tuple[str, list[str], list[str]]] = [
    (
        "ec2.instanceType=t9.gigantic",
        ["activities.extraction.ec2.instanceType=t9.gigantic"],
        ["activities.extraction.ec2.instanceType", "'t9.gigantic'", "cannot be priced", "t4g.small"],
    ),
    (
        "database.instanceClass=db.t9.gigantic",
        ["database.instanceClass=db.t9.gigantic"],
        ["database.instanceClass", "'db.t9.gigantic'", "nearest: db.t4g.micro"],
    ),
    (
        "cache.nodeType=bogus",
        ["cache.nodeType=bogus"],
        ["cache.nodeType", "'bogus'", "priced: cache.t4g.micro", "elasticache.node.hour.bogus"],
    ),
    (
        "gcp.region=mars-1",
        ["gcp.region=mars-1"],
        ["gcp.region", "'mars-1'", "Google Cloud (Cloud Run) region"],
    ),
    ("aws:region=mars-1", ["aws:region=mars-1"], ["aws:region: is not an AWS region", "'mars-1'"]),
    (
        "temporal.cloudRegion=mars",
        ["temporal.cloudRegion=mars"],
        ["temporal.cloudRegion", "'mars'", "Temporal Cloud region", "aws-us-east-1"],
    ),
    (
        "temporal.cloudRegion=aws-mars-1",
        ["temporal.cloudRegion=aws-mars-1"],
        ["temporal.cloudRegion", "'aws-mars-1'", "nearest: aws-"],
    ),
    (
        "ollamaHost=notaurl",
        ["backends.analysis.ollamaHost=notaurl"],
        ["backends.analysis.ollamaHost", "'notaurl'", "http:// or https:// URL"],
    ),
    (
        "unstructured serverUrl=ftp://x",
        ["backends.extraction.serverUrl=ftp://x"],
        ["backends.extraction.serverUrl", "'ftp://x'", "http:// or https://"],
    ),
    (
        "engineVersion=9.x",
        ["database.engineVersion=9.x"],
        ["database.engineVersion", "'9.x'", "major version 13-18"],
    ),
    (
        "prices.…=-1",
        ["prices.ec2.hour.t4g.small=-1"],
        ["prices.ec2.hour.t4g.small", "greater than or equal to 0", "-1"],
    ),
    ("prices.…=nan", ["prices.ec2.hour.t4g.small=nan"], ["prices.ec2.hour.t4g.small", "finite number"]),
    ("prices.…=inf", ["prices.lambda.gbSecond.arm64=inf"], ["prices.lambda.gbSecond.arm64", "finite number"]),
    (
        "lambda.reservedConcurrency=0",
        ["activities.workflow.lambda.reservedConcurrency=0"],
        ["activities.workflow.lambda.reservedConcurrency", "greater than or equal to 1"],
    ),
    (
        "lambda provisioned > reserved",
        ["activities.workflow.lambda.provisionedConcurrency=20"],
        ["activities.workflow.lambda", "provisionedConcurrency 20 exceeds reservedConcurrency 10"],
    ),
    (
        "cloudrun cpu 1, 32 GiB",
        ["activities.analysis.cloudrun.memoryMib=32768"],
        ["activities.analysis.cloudrun", "memoryMib 32768", "cpu 1: 512-4096"],
    ),
    (
        "cloudrun cpu 8, 512 MiB",
        ["activities.analysis.cloudrun.cpu=8", "activities.analysis.cloudrun.memoryMib=512"],
        ["activities.analysis.cloudrun", "memoryMib 512", "cpu 8: 4096-32768"],
    ),
    (
        "sandbox timeout > activity timeout",
        ["backends.enrichment.timeoutSeconds=600"],
        ["backends.enrichment.timeoutSeconds", "600 s", "at most 300 s"],
    ),
    (
        "ec2 min = desired = 0",
        [
            "activities.extraction.target=ec2",
            "activities.extraction.ec2.minSize=0",
            "activities.extraction.ec2.desiredCapacity=0",
        ],
        ["activities.extraction.ec2.desiredCapacity", "runs no worker", "at least 1"],
    ),
]

# Stack files (the keys are written as a user would): case, YAML under `config:`, fragments.
REFUSED_FILES: list[tuple[str, str, list[str]]] = [
    (
        "allowedCidrs 0.0.0.0/1 + 128.0.0.0/1",
        "  docpipe:database:\n    reachability: public-tls\n    allowedCidrs: [0.0.0.0/1, 128.0.0.0/1]\n",
        ["database.allowedCidrs", "whole internet (0.0.0.0/0)"],
    ),
    (
        "allowedCidrs ::/1 + 8000::/1",
        "  docpipe:database:\n    reachability: public-tls\n    allowedCidrs: ['::/1', '8000::/1']\n",
        ["database.allowedCidrs", "whole internet (::/0)"],
    ),
    (
        "allowedCidrs not a network",
        "  docpipe:database:\n    reachability: public-tls\n    allowedCidrs: [10.0.0.300/24]\n",
        ["database.allowedCidrs", "'10.0.0.300/24' is not a CIDR network"],
    ),
    (
        "duplicate YAML key",
        "  docpipe:tier: low\n  docpipe:tier: high\n",
        ["Pulumi.case.yaml: line 4", "'docpipe:tier' appears twice", "first on line 3"],
    ),
    (
        "duplicate nested YAML key",
        "  docpipe:database:\n    multiAz: true\n    multiAz: false\n",
        ["line 5", "'multiAz' appears twice"],
    ),
    (
        "engineVersion: '9.x' in YAML",
        "  docpipe:database:\n    engineVersion: '9.x'\n",
        ["database.engineVersion", "'9.x'"],
    ),
]


def _refusal(run: object) -> str:
    with pytest.raises(ConfigError) as caught:
        run()  # type: ignore[operator]
    return "\n".join(caught.value.problems)


@pytest.mark.parametrize(("case", "overrides", "fragments"), REFUSED, ids=[c for c, _, _ in REFUSED])
def test_bad_set_is_refused_naming_path_value_and_valid(
    case: str, overrides: list[str], fragments: list[str]
) -> None:
    text = _refusal(lambda: load_stack("dev", ROOT, ["imageTag=t1", *overrides], placeholder_secrets=True))
    missing = [f for f in fragments if f not in text]
    record("config", case, rejected=int(not missing))
    assert not missing, f"{case}: refusal lacks {missing}:\n{text}"


def _stack_dir(tmp_path: Path, body: str) -> Path:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    gcp = (
        "  docpipe:gcp:\n    project: docpipe-case\n"
        "    cremaImage: us-central1-docker.pkg.dev/cloud-run-oss-images/crema-v1/autoscaler:1.2\n"
    )
    (tmp_path / "Pulumi.case.yaml").write_text(f"config:\n  aws:region: us-east-1\n{body}{gcp}")
    return tmp_path


@pytest.mark.parametrize(("case", "body", "fragments"), REFUSED_FILES, ids=[c for c, _, _ in REFUSED_FILES])
def test_bad_stack_file_is_refused(tmp_path: Path, case: str, body: str, fragments: list[str]) -> None:
    root = _stack_dir(tmp_path, body)
    text = _refusal(lambda: load_stack("case", root, ["imageTag=t1"], placeholder_secrets=True))
    missing = [f for f in fragments if f not in text]
    record("config", case, rejected=int(not missing))
    assert not missing, f"{case}: refusal lacks {missing}:\n{text}"


def test_text_keys_stay_text_and_engine_version_16_is_accepted(tmp_path: Path) -> None:
    config, _ = load_stack(
        "dev", ROOT, ["imageTag=1.10", "database.engineVersion=16"], placeholder_secrets=True
    )
    assert config.image_tag == "1.10"
    assert config.database.engine_version == "16"
    # Numbers where the key is a number still become numbers.
    config, _ = load_stack("dev", ROOT, ["imageTag=t1", "traffic.filesPerDay=25"], placeholder_secrets=True)
    assert config.traffic.files_per_day == 25
    root = _stack_dir(tmp_path, "  docpipe:database:\n    engineVersion: 16\n")
    config, _ = load_stack("case", root, ["imageTag=t1"], placeholder_secrets=True)
    assert config.database.engine_version == "16"
    record("config", "engineVersion=16 accepted, imageTag=1.10 kept", fixed=2)


def test_valid_neighbours_still_pass() -> None:
    """The limits are the platforms' own: values at their edges are accepted."""
    config, _ = load_stack(
        "dev",
        ROOT,
        [
            "imageTag=t1",
            "activities.analysis.cloudrun.cpu=8",
            "activities.analysis.cloudrun.memoryMib=32768",
            "activities.workflow.lambda.provisionedConcurrency=10",
            "backends.enrichment.timeoutSeconds=300",
            "gcp.region=europe-west3",
            "temporal.cloudRegion=aws-eu-central-1",
            "prices.ec2.hour.m7g.large=0.0816",
            "activities.extraction.ec2.instanceType=m7g.large",
            "backends.analysis.ollamaHost=http://10.0.0.5:11434",
        ],
        placeholder_secrets=True,
    )
    assert config.activities["extraction"].sizing_for("ec2").instance_type == "m7g.large"  # type: ignore[attr-defined]
