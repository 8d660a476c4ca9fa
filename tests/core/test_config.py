"""StackConfig validation: every error names the config path, the bad value and what is valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from docpipe.config import ConfigError, validate_stack_config
from docpipe.presets import TIER_TARGETS, preset_activities
from docpipe.stackfile import FlatConfig, config_from_flat, load_stack, parse_set
from workers.contract import ROLES

ROOT = Path(__file__).resolve().parents[2]


def problems(*overrides: str, stack: str = "dev") -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stack(stack, ROOT, overrides)
    return caught.value.problems


def test_stack_files_validate() -> None:
    dev, _ = load_stack("dev", ROOT, placeholder_secrets=True)
    assert dev.tier == "low"
    assert dev.traffic.files_per_day == 10
    prod, _ = load_stack("prod", ROOT, placeholder_secrets=True)
    assert prod.tier == "medium"
    assert prod.traffic.files_per_day == 100
    assert prod.backends.extraction.kind == "unstructured-api"


def test_prod_without_keys_names_the_command_to_run() -> None:
    found = problems(stack="prod")
    assert any("`pulumi config set --secret docpipe:e2bApiKey <value>`" in p for p in found)
    assert any("docpipe:unstructuredApiKey" in p for p in found)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            "activities.extraction.target=cloudrn",
            ["activities.extraction.target", "'cloudrn'", "did you mean 'cloudrun'"],
        ),
        ("tier=hihg", ["docpipe:tier", "'hihg'", "low, medium, high", "did you mean 'high'"]),
        ("teir=high", ["docpipe:teir", "unknown key", "did you mean 'tier'"]),
        (
            "activities.extractoin.target=ec2",
            ["activities.extractoin", "unknown key", "did you mean 'extraction'"],
        ),
        (
            "activities.extraction.lambd.memoryMb=512",
            ["activities.extraction.lambd", "did you mean 'lambda'"],
        ),
        (
            "activities.storage.lambda.timeoutSeconds=30",
            ["activities.storage.lambda.timeoutSeconds", "at least 125 s"],
        ),
        (
            "activities.extraction.lambda.timeoutSeconds=901",
            ["activities.extraction.lambda.timeoutSeconds", "900"],
        ),
        ("activities.analysis.lambda.memoryMb=64", ["activities.analysis.lambda.memoryMb", "128"]),
        (
            "activities.analysis.ec2.minSize=9",
            ["activities.analysis.ec2", "minSize <= desiredCapacity <= maxSize"],
        ),
        ("activities.extraction.cloudrun.cpu=3", ["activities.extraction.cloudrun.cpu", "3"]),
        (
            "activities.extraction.cloudrun.minInstances=5",
            ["activities.extraction.cloudrun", "minInstances <= maxInstances"],
        ),
        ("traffic.filesPerDay=0", ["traffic.filesPerDay", "greater than 0"]),
        ("traffic.enrichmentRate=1.5", ["traffic.enrichmentRate", "1.5"]),
        ("traffic.minutesPerFile.extracton=3", ["traffic.minutesPerFile", "extracton"]),
        ("backends.analysis.provider=antropic", ["backends.analysis.provider", "did you mean 'anthropic'"]),
        (
            "backends.enrichment.kind=e2b",
            ["docpipe:e2bApiKey", "pulumi config set --secret docpipe:e2bApiKey"],
        ),
        ("temporal.mode=selfhosted", ["temporal.mode", "did you mean 'self-hosted'"]),
        ("temporal.mode=external", ["temporal.address", "required when temporal.mode is external"]),
        (
            "activities.storage.target=cloudrun",
            ["database.reachability", "activities.storage.target=cloudrun"],
        ),
        ("database.reachability=public-tls", ["database", "allowedCidrs"]),
        ("temporal.mode=self-hosted", ["temporal.mode", "activities.extraction.target=cloudrun"]),
        ("gcp.project=X", ["gcp.project", "'X'"]),
        ("imageTag=bad tag!", ["imageTag", "bad tag!"]),
    ],
)
def test_bad_config_names_path_value_and_choices(override: str, expected: list[str]) -> None:
    message = "\n".join(problems(override))
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in:\n{message}"


def test_cloudrun_needs_gcp_project() -> None:
    flat = FlatConfig({"docpipe:tier": "low"}, frozenset())
    with pytest.raises(ConfigError) as caught:
        config_from_flat("nogcp", flat)
    assert any(
        "gcp.project" in p and "activities.extraction.target is cloudrun" in p for p in caught.value.problems
    )


def test_tier_moves_unpinned_roles_and_keeps_pinned_ones() -> None:
    high, _ = load_stack("dev", ROOT, ["tier=high"], placeholder_secrets=True)
    assert {r: high.activities[r].target for r in ROLES} == TIER_TARGETS["high"]
    pinned, _ = load_stack(
        "dev", ROOT, ["tier=high", "activities.extraction.target=cloudrun"], placeholder_secrets=True
    )
    assert pinned.activities.extraction.target == "cloudrun"
    assert pinned.activities.analysis.target == "ec2"


def test_sizing_override_merges_into_preset() -> None:
    config, _ = load_stack(
        "dev", ROOT, ["activities.extraction.cloudrun.maxInstances=7"], placeholder_secrets=True
    )
    sizing = config.activities.extraction.sizing_for("cloudrun")
    assert sizing.max_instances == 7
    assert sizing.memory_mib == preset_activities("low")["extraction"]["cloudrun"]["memoryMib"]


def test_parse_set_types_values_like_pulumi_config_set_path() -> None:
    assert parse_set("a.b=true") == ("a.b", True)
    assert parse_set("docpipe:a.b=3") == ("a.b", 3)
    assert parse_set("a=1.5") == ("a", 1.5)
    assert parse_set("a=cloudrun") == ("a", "cloudrun")
    with pytest.raises(ConfigError):
        parse_set("no-equals-sign")


def test_unknown_stack_lists_the_stacks() -> None:
    with pytest.raises(ConfigError) as caught:
        load_stack("prdo", ROOT)
    assert "dev, prod" in str(caught.value)
    assert "did you mean 'prod'" in str(caught.value)


def test_unknown_secret_key_is_rejected() -> None:
    raw = {"tier": "high", "activities": preset_activities("high")}
    with pytest.raises(ConfigError) as caught:
        validate_stack_config("s", raw, {"e2bApiKy"})
    assert "did you mean 'e2bApiKey'" in str(caught.value)


def test_secret_values_never_enter_the_config() -> None:
    flat = FlatConfig(
        {
            "docpipe:tier": "high",
            "docpipe:e2bApiKey": "sk-live-VERYSECRET",
            "docpipe:backends": '{"enrichment": {"kind": "e2b"}}',
        },
        frozenset({"docpipe:e2bApiKey"}),
    )
    config = config_from_flat("s", flat)
    assert "e2bApiKey" in config.secrets_present
    assert "VERYSECRET" not in config.model_dump_json()


def test_build_id_is_derived_from_the_image_content_and_never_latest(tmp_path) -> None:
    from docpipe.build_id import content_build_id

    config, _ = load_stack("dev", ROOT, placeholder_secrets=True)
    assert config.build_id == content_build_id(ROOT) and config.build_id.startswith("src-")
    pinned, _ = load_stack("dev", ROOT, ["imageTag=git-3f2a1c9"], placeholder_secrets=True)
    assert pinned.build_id == "git-3f2a1c9"
    with pytest.raises(ConfigError, match="docpipe:imageTag: 'latest' names whatever was pushed last"):
        load_stack("dev", ROOT, ["imageTag=latest"], placeholder_secrets=True)


def test_build_id_follows_what_the_dockerfile_copies(tmp_path) -> None:
    from docpipe.build_id import content_build_id

    (tmp_path / ".dockerignore").write_text("*\n!workers/\n**/__pycache__\n")
    (tmp_path / "workers").mkdir()
    (tmp_path / "workers" / "a.py").write_text("x = 1\n")
    (tmp_path / "tests" / "workers").mkdir(parents=True)
    first = content_build_id(tmp_path)
    (tmp_path / "notes.txt").write_text("outside the build context\n")
    (tmp_path / "tests" / "workers" / "t.py").write_text("not copied either\n")
    (tmp_path / "workers" / "__pycache__").mkdir()
    (tmp_path / "workers" / "__pycache__" / "a.pyc").write_bytes(b"\0")
    assert content_build_id(tmp_path) == first
    (tmp_path / "workers" / "a.py").write_text("x = 2\n")
    assert content_build_id(tmp_path) != first
