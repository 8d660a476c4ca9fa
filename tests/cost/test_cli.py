"""The commands as a user runs them: tables, --json, --set diffs, errors, the chart."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from docpipe.cli import main
from docpipe.cost import estimate
from docpipe.stackfile import load_stack


@pytest.fixture(autouse=True)
def _eighty_columns(monkeypatch) -> None:
    # The tables fit the terminal; pin the width so the layout does not depend on where tests run.
    monkeypatch.setenv("COLUMNS", "80")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def column_text(out: str, heading: str) -> str:
    """The cells of the table column headed `heading`, joined: a cell wrapped over lines reads whole."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if heading in line.split("  "))
    at = lines[start].index(heading)
    cells = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        cells.append(line[at:].strip())
    return " ".join(cells)


def test_cost_table_has_components_total_assumptions_and_unconfirmed(capsys) -> None:
    code, out, _ = run(capsys, "cost", "--stack", "prod")
    assert code == 0
    assert "Unstructured API" in out and "456.25" in out
    assert "TOTAL" in out
    assert "assume.analysisInputTokensPerFile = 8,000" in out
    assert "UNCONFIRMED prices used" in out and "† unstructured.page = 0.03" in out
    assert "25.47†" in out  # the Cloud Run line rests on the unconfirmed worker-pool rate
    # The working, numbers filled in, is a details section below the table (wrapped to 80 columns).
    details = out[out.index("how each line is worked out:") : out.index("top drivers")]
    working = " ".join(line.strip() for line in details.splitlines())
    assert re.search(
        r"workflow \(lambda\): [\d,]+ inv × \(16(\.\d+)? s \+ 1\.5 s INIT\) × 0\.5 GB × "
        r"0\.0000133334 USD/GB-s \(arm64\)",
        working,
    )
    # What the estimate leaves out is listed, each with why.
    left_out = out[out.index("not priced:") :]
    assert "data transfer out of AWS: extraction, analysis on Cloud Run" in " ".join(left_out.split())
    assert max(len(line) for line in out.splitlines()) <= 80


def test_cost_json_matches_the_api(capsys) -> None:
    code, out, _ = run(capsys, "cost", "--stack", "dev", "--json")
    assert code == 0
    data = json.loads(out)
    config, _ = load_stack("dev", placeholder_secrets=True)
    assert data["totalMonthlyUsd"] == pytest.approx(estimate(config).total_monthly_usd, abs=1e-3)
    assert {p["key"] for p in data["unconfirmedPrices"]} >= {"lambda.gbSecond.arm64"}
    assert all(p["confirmed"] is False for p in data["unconfirmedPrices"])
    assert all({"name", "role", "usd", "working"} <= set(c) for c in data["components"])


def test_set_diff_matches_two_separate_estimates(capsys) -> None:
    flip = "activities.extraction.target=ec2"
    code, out, _ = run(capsys, "cost", "--stack", "prod", "--set", flip, "--json")
    assert code == 0
    data = json.loads(out)
    before = estimate(load_stack("prod", placeholder_secrets=True)[0])
    after = estimate(load_stack("prod", overrides=[flip], placeholder_secrets=True)[0])
    assert data["before"]["totalMonthlyUsd"] == pytest.approx(before.total_monthly_usd, abs=1e-3)
    assert data["after"]["totalMonthlyUsd"] == pytest.approx(after.total_monthly_usd, abs=1e-3)
    assert data["deltaMonthlyUsd"] == pytest.approx(
        after.total_monthly_usd - before.total_monthly_usd, abs=1e-3
    )
    rows = {r["component"]: r for r in data["diff"]}
    ext = rows["extraction: cloudrun → ec2"]
    assert ext["before"] == pytest.approx(before.component("extraction (cloudrun)").usd, abs=1e-3)
    assert ext["after"] == pytest.approx(after.component("extraction (ec2)").usd, abs=1e-3)
    # Valkey is in every stack: the flip does not change what it costs.
    cache = rows["cache (Valkey serverless)"]
    assert cache["before"] == cache["after"] > 0
    assert sum(r["delta"] for r in data["diff"]) == pytest.approx(data["deltaMonthlyUsd"], abs=1e-2)
    code, text, _ = run(capsys, "cost", "--stack", "prod", "--set", flip)
    assert "before" in text and "delta" in text and "extraction: cloudrun → ec2" in text


def test_price_override_from_the_command_line(capsys) -> None:
    code, out, _ = run(capsys, "cost", "--stack", "dev", "--set", "prices.nat.hour=0", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["deltaMonthlyUsd"] == pytest.approx(-730 * 0.045, abs=1e-6)


def test_unknown_price_key_is_a_clear_error(capsys) -> None:
    code, _, err = run(capsys, "cost", "--stack", "dev", "--set", "prices.nat.hours=0")
    assert code == 2
    assert "docpipe:prices.nat.hours: unknown price key (did you mean 'nat.hour'?)" in err


def test_unknown_stack_is_a_clear_error(capsys) -> None:
    code, _, err = run(capsys, "cost", "--stack", "prdo")
    assert code == 2 and "did you mean 'prod'" in err


def test_recommend_json_and_text(capsys) -> None:
    code, out, _ = run(capsys, "recommend", "--files-per-day", "300", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["searched"] == 162
    assert data["best"]["totalMonthlyUsd"] <= data["runnerUp"]["totalMonthlyUsd"]
    assert "docpipe:activities" in data["stackYaml"]
    code, out, _ = run(capsys, "recommend", "--files-per-day", "300", "--minutes", "extraction=20")
    assert code == 0 and "paste into" in out
    out = " ".join(out.split())  # long reasons wrap at 80 columns
    assert "extraction=lambda: activities.extraction.activityTimeoutSeconds: a Lambda worker needs" in out
    assert "beyond Lambda's 900 s limit; place extraction on ec2 or cloudrun" in out
    code, _, err = run(capsys, "recommend", "--files-per-day", "3", "--minutes", "extracton=2")
    assert code == 2 and "did you mean 'extraction'" in err


def test_simulate_json(capsys) -> None:
    code, out, _ = run(capsys, "simulate", "--stack", "dev", "--days", "3", "--profile", "bursty", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["profile"] == "bursty" and data["days"] == 3
    assert data["endToEndSeconds"]["p99"] >= data["endToEndSeconds"]["p50"] > 0
    assert data["keepsUp"] is True and data["cannotKeepUp"] == []


def test_simulate_says_plainly_when_a_placement_cannot_keep_up(capsys) -> None:
    args = ("simulate", "--stack", "prod", "--days", "4", "--set", "traffic.filesPerDay=2000")
    code, out, _ = run(capsys, *args)
    assert code == 0
    assert "backlog at the end:" in out and "documents unfinished, oldest" in out
    words = " ".join(out.split())
    assert "prod cannot keep up with 2,000 files/day" in words
    assert "analysis on cloudrun:" in words and "(activities.analysis.cloudrun.maxInstances)" in words
    tail = out[out.index("billed vs capacity") :]
    assert max(len(line) for line in tail.splitlines()[:-1]) <= 80  # the last line lists prices
    data = json.loads(run(capsys, *args, "--json")[1])
    assert data["keepsUp"] is False and data["backlog"]["documents"] > 0
    for role in data["roles"]:
        assert role["detail"]["instanceSeconds"] <= role["detail"]["capacitySeconds"]


def test_compare_writes_a_png_chart(capsys, tmp_path, monkeypatch) -> None:
    import docpipe.cost.compare as compare

    monkeypatch.setattr(compare, "log_grid", lambda: [1, 10, 100, 1000, 2000])
    chart = tmp_path / "cost.png"
    code, out, _ = run(capsys, "cost", "compare", "--files-per-day", "50", "--chart", str(chart))
    assert code == 0
    data = chart.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and b"IEND" in data[-16:]
    assert "recommended" in out and "crossovers" in out
    code, out, _ = run(capsys, "cost", "compare", "--files-per-day", "50", "--json")
    names = [m["name"] for m in json.loads(out)["models"]]
    assert names == ["all-ec2", "all-lambda", "all-cloudrun", "original-hybrid", "recommended"]


def test_the_api_imports_without_matplotlib_or_pulumi() -> None:
    code = (
        "import sys, docpipe.cost, docpipe.cost.recommend, docpipe.cost.simulate; "
        "bad = [m for m in ('matplotlib', 'pulumi') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- issue 14: flags that work, formats, output that fits ---------------------------------------


def test_files_per_day_prices_the_stack_at_that_traffic(capsys) -> None:
    _, base, _ = run(capsys, "cost", "--stack", "prod", "--json")
    code, out, _ = run(capsys, "cost", "--stack", "prod", "--files-per-day", "300", "--json")
    assert code == 0
    data, before = json.loads(out), json.loads(base)
    assert before["filesPerDay"] == 100 and data["filesPerDay"] == 300
    assert data["totalMonthlyUsd"] > before["totalMonthlyUsd"]
    code, text, _ = run(capsys, "cost", "--stack", "prod", "--files-per-day", "300")
    assert "300 files/day" in text


def test_chart_outside_compare_is_rejected_and_names_where_it_belongs(capsys, tmp_path) -> None:
    chart = tmp_path / "x.png"
    code, _, err = run(capsys, "cost", "--stack", "prod", "--chart", str(chart))
    assert code == 2 and "docpipe cost compare --chart" in err
    assert not chart.exists()
    code, _, err = run(capsys, "cost", "compare", "--chart", str(tmp_path / "no" / "x.png"))
    assert code == 2 and "does not exist" in err


@pytest.mark.parametrize("argv", [["cost", "compare"], ["cost", "--stack", "prod"], ["recommend"]])
def test_files_per_day_zero_is_rejected_not_replaced(capsys, argv) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--files-per-day", "0"])
    assert exc.value.code == 2
    assert "--files-per-day: '0': must be more than 0" in capsys.readouterr().err


def test_compare_honours_files_per_day(capsys) -> None:
    code, out, _ = run(capsys, "cost", "compare", "--files-per-day", "3", "--json")
    assert code == 0 and json.loads(out)["filesPerDay"] == 3


def test_a_set_on_a_target_the_role_does_not_use_is_warned_about(capsys) -> None:
    unused = "activities.extraction.lambda.memoryMb=2048"
    code, _, err = run(capsys, "cost", "--stack", "prod", "--set", unused, "--diff")
    assert code == 0
    assert "extraction runs on" in err and "cloudrun" in err and "lambda" in err
    used = "activities.extraction.cloudrun.cpu=2"
    code, _, err = run(capsys, "cost", "--stack", "prod", "--set", used, "--diff")
    assert code == 0 and "warning" not in err


def test_diff_shows_only_what_changed(capsys) -> None:
    flip = "activities.extraction.target=ec2"
    code, out, _ = run(capsys, "cost", "--stack", "prod", "--set", flip, "--diff", "--json")
    assert code == 0
    diff = json.loads(out)["diff"]
    _, full, _ = run(capsys, "cost", "--stack", "prod", "--set", flip, "--json")
    assert 0 < len(diff) < len(json.loads(full)["diff"])
    assert all(r["delta"] != 0 or r["workingBefore"] != r["workingAfter"] for r in diff)
    code, text, _ = run(capsys, "cost", "--stack", "prod", "--set", flip, "--diff")
    assert "extraction: cloudrun → ec2" in text and "lines unchanged" in text
    assert "Unstructured API" not in text.split("how each changed line")[0]  # unchanged: not shown


def test_markdown_is_a_pull_request_comment(capsys) -> None:
    code, out, _ = run(capsys, "cost", "--stack", "prod", "--format", "markdown")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "### docpipe cost: stack `prod`"
    assert "| Component | Quantity | Unit | USD/unit | Monthly (USD) |" in lines
    assert "| ↳ pages | 15,208 | page | 0.03 | 456.25 |" in lines  # 100/day × 730 h ÷ 24 × 5 pages
    assert any(line.startswith("| **Total** |") for line in lines)
    assert "<details><summary>How each line is worked out</summary>" in lines
    flip = "activities.extraction.target=ec2"
    code, out, _ = run(capsys, "cost", "--stack", "prod", "--set", flip, "--diff", "--format", "markdown")
    assert (
        out.startswith("### docpipe cost: stack `prod`, ") and "| Component | Before | After | Delta |" in out
    )
    code, _, err = run(capsys, "cost", "--stack", "prod", "--json", "--format", "markdown")
    assert code == 2 and "disagree" in err


HUMAN_VIEWS = [
    ["cost", "--stack", "prod"],
    ["cost", "--stack", "dev", "--free-tier"],
    ["cost", "--stack", "prod", "--set", "activities.extraction.target=ec2"],
    ["cost", "--stack", "prod", "--set", "activities.extraction.target=ec2", "--diff"],
    ["cost", "compare"],
    ["cost", "compare", "--stack", "prod"],
    ["recommend", "--files-per-day", "300"],
    ["recommend", "--files-per-day", "300", "--minutes", "extraction=20"],
    ["simulate", "--stack", "prod", "--days", "2"],
]


@pytest.mark.parametrize("argv", HUMAN_VIEWS, ids=" ".join)
def test_every_human_view_fits_80_columns(capsys, argv) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    long = [line for line in (out + err).splitlines() if len(line) > 80]
    assert not long, "\n".join(long)


@pytest.mark.parametrize(
    "argv", [["cost", "--stack", "prod"], ["cost", "compare"], ["cost", "--stack", "dev"]]
)
def test_output_speaks_to_users_not_contributors(capsys, argv) -> None:
    _, out, _ = run(capsys, *argv)
    assert "PRICING-SOURCES" not in out and "from memory" not in out
    assert "seed" not in out.lower()  # "the original cost analysis", explained in README.md


def test_version_completion_and_compare_help(capsys) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"docpipe {version('docpipe')}"
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    assert "docpipe" in script and "compare" in script and "--files-per-day" in script
    with pytest.raises(SystemExit):
        main(["cost", "compare", "--help"])
    help_text = capsys.readouterr().out
    assert help_text.startswith("usage: docpipe cost compare") and "--chart" in help_text
    assert "--diff" not in help_text  # its own options, not `cost`'s


def test_set_and_stack_mistakes_say_what_is_wrong(capsys) -> None:
    code, _, err = run(capsys, "cost", "--stack", "prod", "--set", "foo")
    assert code == 2 and "--set expects KEY=VALUE" in err and "stack '--set'" not in err
    code, _, err = run(capsys, "cost", "--stack", "nope")
    assert code == 2 and "Pulumi.nope.yaml not found; stacks here: dev, prod" in err
    assert "invalid docpipe config" not in err
    code, _, err = run(capsys, "cost", "--stack", "prod", "--set", "tier=HIGH")
    assert code == 2 and "(did you mean 'high'?)" in err


@pytest.mark.parametrize(
    "sets",
    [[], ["activities.extraction.target=ec2"], ["activities.analysis.target=lambda", "cache.mode=node"]],
)
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_stated_breakdown_adds_up_to_its_line(stack, sets) -> None:
    est = estimate(load_stack(stack, overrides=sets, placeholder_secrets=True)[0])
    broken_down = [c for c in est.components if c.charges]
    assert len(broken_down) >= len(est.components) - 2  # Temporal Cloud's tiers and CREMA: working only
    for c in broken_down:
        assert sum(ch.usd for ch in c.charges) == pytest.approx(c.usd, rel=1e-9, abs=1e-9), c.name


def test_the_table_shows_quantity_unit_and_price_per_line(capsys) -> None:
    code, out, _ = run(capsys, "cost", "--stack", "prod")
    assert code == 0
    lines = out.splitlines()
    assert lines[3].split() == ["component", "quantity", "unit", "USD/unit", "USD/month"]
    assert any(line.split() == ["instance", "(db.t4g.micro)", "730", "h", "0.016", "11.68"] for line in lines)
    assert any(line.split() == ["pages", "15,208", "page", "0.03", "456.25"] for line in lines)
    code, out, _ = run(capsys, "cost", "--stack", "prod", "--json")
    assert code == 0
    db = next(c for c in json.loads(out)["components"] if c["name"] == "database (RDS PostgreSQL)")
    assert db["charges"][0] == {
        "label": "instance (db.t4g.micro)",
        "quantity": 730,
        "unit": "h",
        "unitPriceUsd": 0.016,
        "usd": 11.68,
    }


JSON_VIEWS = [
    ["cost", "--stack", "prod", "--json"],
    ["cost", "--stack", "prod", "--set", "activities.extraction.target=ec2", "--json"],
    ["cost", "compare", "--json"],
    ["recommend", "--files-per-day", "300", "--json"],
    ["simulate", "--stack", "dev", "--days", "2", "--json"],
]


def _keys(value, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            found.add(k)
            _keys(v, found)
    elif isinstance(value, list):
        for v in value:
            _keys(v, found)
    return found


@pytest.mark.parametrize("argv", JSON_VIEWS, ids=" ".join)
def test_json_keys_are_camel_case_data_keys(capsys, argv) -> None:
    code, out, _ = run(capsys, *argv)
    assert code == 0
    bad = sorted(k for k in _keys(json.loads(out), set()) if "_" in k or " " in k or k[:1].isupper())
    assert not bad


@pytest.mark.parametrize("argv", JSON_VIEWS[:2] + JSON_VIEWS[3:4], ids=" ".join)
def test_json_is_identical_across_runs(argv) -> None:
    from tests.cli.helpers import run_python

    first = run_python(["-m", "docpipe.cli", *argv], {"PYTHONHASHSEED": "1"})
    assert first == run_python(["-m", "docpipe.cli", *argv], {"PYTHONHASHSEED": "7"})


def test_options_before_compare_are_kept_or_rejected_never_dropped(capsys) -> None:
    code, out, _ = run(capsys, "cost", "--stack", "prod", "--files-per-day", "30", "compare", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["base"] == "stack prod" and data["filesPerDay"] == 30
    code, _, err = run(capsys, "cost", "--free-tier", "compare")
    assert code == 2 and "--free-tier is an option of `docpipe cost --stack NAME`" in err
