"""The price book's region lists stay equal to the providers' own, and its per-type keys are the
valid type names."""

from __future__ import annotations

from pulumi_aws import Region

from docpipe import catalog


def test_aws_regions_are_pulumi_aws_region_enum() -> None:
    # docpipe's core imports no Pulumi, so the list is copied into the price book; this keeps it true.
    assert sorted(catalog.regions("aws").names) == sorted(r.value for r in Region)


def test_region_lists_are_dated_and_sourced() -> None:
    for kind in ("aws", "gcp", "temporalCloud"):
        listed = catalog.regions(kind)  # type: ignore[arg-type]
        assert listed.names and len(set(listed.names)) == len(listed.names), kind
        assert listed.read[:4].isdigit() and listed.source, kind
    assert all(n.startswith(("aws-", "gcp-")) for n in catalog.regions("temporalCloud").names)


def test_priced_types_include_overrides() -> None:
    assert "t4g.small" in catalog.priced_types("ec2")
    assert "m7g.large" not in catalog.priced_types("ec2")
    assert "m7g.large" in catalog.priced_types("ec2", {"ec2.hour.m7g.large": 0.08})
    assert catalog.nearest("t4g.smal", catalog.priced_types("ec2")).startswith("; nearest: t4g.small")
