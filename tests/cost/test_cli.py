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
    working = column_text(out, "working")  # the working, numbers filled in (wrapped to fit 80 columns)
    assert re.search(
        r"inv × \(16(\.\d+)? s \+ 1\.5 s INIT\) × 0\.5 GB × 0\.0000133334 USD/GB-s \(arm64\)", working
    )
    # What the estimate leaves out is listed, each with why, within 80 columns.
    left_out = out[out.index("not priced:") : out.index("UNCONFIRMED prices used")]
    assert "data transfer out of AWS: extraction, analysis on Cloud Run" in " ".join(left_out.split())
    assert max(len(line) for line in left_out.splitlines()) <= 80
    table = out[out.index("component") : out.index("† uses an unconfirmed price")]
    assert max(len(line) for line in table.splitlines()) <= 80


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
    assert names == ["all-ec2", "all-lambda", "all-cloudrun", "seed-hybrid", "recommended"]


def test_the_api_imports_without_matplotlib_or_pulumi() -> None:
    code = (
        "import sys, docpipe.cost, docpipe.cost.recommend, docpipe.cost.simulate; "
        "bad = [m for m in ('matplotlib', 'pulumi') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
