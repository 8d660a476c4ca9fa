"""policies.offline: the verdicts `docpipe plan` shows for a recorded stack."""

from __future__ import annotations

from policy_helpers import edit, resources

from policies.offline import config_file_for, verdicts


def test_prod_verdicts_with_its_example_config() -> None:
    found = verdicts(resources("prod"), "prod")
    assert found.config_file == config_file_for("prod")
    assert found.report.passed
    assert found.files_per_day == 100
    assert found.cap_usd == 800
    assert found.estimate_usd is not None and 600 < found.estimate_usd < 800
    text = found.text()
    assert text.startswith(
        f"with policies/prod.json at 100 files/day: monthly estimate {found.estimate_usd:,.2f} USD, cap "
        "800.00 USD\n"
    )
    assert "  ok   monthly-cost-cap" in text
    assert text.endswith("pulumi up --policy-pack policies: would pass")


def test_failing_stack_shows_the_refusal() -> None:
    items = edit(
        resources("dev"),
        lambda r: r.type == "aws:rds/instance:Instance",
        lambda p: p.update(publiclyAccessible=True),
    )
    found = verdicts(items, "dev", {"monthly-cost-cap": {"maxMonthlyUsd": 50}})
    assert found.config_file is None
    text = found.text()
    assert (
        "FAIL monthly-cost-cap (mandatory)" in text and "FAIL database-private-encrypted (mandatory)" in text
    )
    assert text.endswith("would be refused (2 mandatory)")
    as_json = found.to_dict()
    assert as_json["passed"] is False and as_json["maxMonthlyUsd"] == 50


def test_docpipe_plan_section() -> None:
    from types import SimpleNamespace

    from docpipe.cli.plan import SECTIONS, policy_section

    assert policy_section in SECTIONS
    view = SimpleNamespace(stack="dev", result=SimpleNamespace(resources=resources("dev")))
    section = policy_section(view)  # type: ignore[arg-type]
    assert section.title == "Policy verdicts"
    assert section.lines[0].startswith("with policies/dev.json at 10 files/day: monthly estimate 167.24 USD")
    assert section.lines[-1] == "  pulumi up --policy-pack policies: would pass"
    assert section.data["passed"] is True and len(section.data["policies"]) == 13


def test_docpipe_plan_section_shows_a_config_error(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from types import SimpleNamespace

    import policies.offline
    from docpipe.cli.plan import policy_section

    (tmp_path / "dev.json").write_text('{"monthly-cost-cap": {"maxMonthlyUSD": 10}}')
    monkeypatch.setattr(policies.offline, "PACK_DIR", tmp_path)
    view = SimpleNamespace(stack="dev", result=SimpleNamespace(resources=resources("dev")))
    section = policy_section(view)  # type: ignore[arg-type]
    assert section.lines == [
        "policy config error: policy monthly-cost-cap: unknown config properties maxMonthlyUSD; known: "
        "enrichmentRate, filesPerDay, maxMonthlyUsd, minutesPerFile, pagesPerFile, prices, profile"
    ]


def test_a_deployed_local_sandbox_is_refused() -> None:
    """bubblewrap needs user namespaces that Lambda, Cloud Run and Docker's default seccomp refuse."""
    items = edit(
        resources("dev"),
        lambda r: r.type == "aws:lambda/function:Function" and "enrichment" in r.name,
        lambda p: p["environment"]["variables"].update(DOCPIPE_ENRICHMENT_BACKEND="local-sandbox"),
    )
    text = verdicts(items, "dev").text()
    assert "FAIL enrichment-sandbox-deployable (mandatory)" in text
    assert "backends.enrichment.kind=e2b" in " ".join(text.split())
    assert "  ok   enrichment-sandbox-deployable" in verdicts(resources("dev"), "dev").text()
