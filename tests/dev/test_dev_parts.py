"""The parts of `docpipe dev` that need no services: realizer, inputs, supervisor, display."""

from __future__ import annotations

import io
import json
import signal
import sys
import time
from pathlib import Path

import pytest
from dev_procs import wait_gone

from docpipe.cli.display import PlainDisplay, print_results
from docpipe.local.inputs import collect
from docpipe.local.progress import DocProgress
from docpipe.local.realize import Endpoints, realize
from docpipe.local.rows import DocumentRow, _timings
from docpipe.local.state import pid_alive
from docpipe.local.supervisor import ProcessSpec, Supervisor, SupervisorError
from docpipe.plan import build_plan
from docpipe.stackfile import load_stack
from workers.contract import Env
from workers.documents import describe_file
from workers.types import DocumentRef

ENDPOINTS = Endpoints(
    temporal_address="127.0.0.1:7233",
    namespace="default",
    database_url="postgresql://postgres:@/docpipe?host=/tmp/x",
    valkey_url="valkey://127.0.0.1:6379/0",
    payload_dir=Path("/tmp/payloads"),
)


def _roles(stack: str, env: dict[str, str], offline: bool = False):
    config, _ = load_stack(stack, placeholder_secrets=True)
    return {r.role: r for r in realize(build_plan(config), ENDPOINTS, env, offline=offline)}


def test_dev_stack_runs_as_placed_with_its_offline_backends():
    roles = _roles("dev", {})
    # Enrichment is E2B in the cloud (a deployed worker cannot run bubblewrap); without a key it runs
    # in the local sandbox here, and says so.
    assert [r.fallback is None for r in roles.values()] == [True, True, True, False, True]
    assert roles["enrichment"].backend == "local-sandbox"
    assert "E2B_API_KEY is not set" in (roles["enrichment"].fallback or "")
    assert {r: lr.target for r, lr in roles.items()} == {
        "workflow": "lambda",
        "extraction": "cloudrun",
        "analysis": "cloudrun",
        "enrichment": "lambda",
        "storage": "lambda",
    }
    assert roles["storage"].env[Env.DATABASE_URL] == ENDPOINTS.database_url
    assert Env.DATABASE_URL not in roles["analysis"].env
    assert roles["extraction"].env[Env.VALKEY_URL] == ENDPOINTS.valkey_url
    assert roles["analysis"].env[Env.DEPLOYMENT_NAME] == "docpipe-dev-analysis"
    assert roles["enrichment"].env[Env.ACTIVITY_TIMEOUT_SECONDS] == "300"
    timeouts = json.loads(roles["workflow"].env[Env.STAGE_TIMEOUTS])
    assert timeouts == {"extraction": 420, "analysis": 420, "enrichment": 300, "storage": 60}


def test_hosted_backends_without_keys_fall_back_and_say_why():
    roles = _roles("prod", {"HOME": "/nonexistent"})
    assert roles["extraction"].backend == "local"
    assert "UNSTRUCTURED_API_KEY is not set" in (roles["extraction"].fallback or "")
    assert roles["analysis"].backend == "heuristic"
    assert "no AWS credentials for Bedrock" in (roles["analysis"].fallback or "")
    assert roles["enrichment"].backend == "local-sandbox"
    assert "E2B_API_KEY is not set" in (roles["enrichment"].fallback or "")
    assert roles["extraction"].env[Env.EXTRACTION_BACKEND] == "local"


def test_hosted_backends_with_keys_are_used_and_keys_stay_out_of_docpipe_env():
    env = {
        "HOME": "/nonexistent",
        "UNSTRUCTURED_API_KEY": "uk-secret",
        "E2B_API_KEY": "e2b-secret",
        "AWS_PROFILE": "dev",
    }
    roles = _roles("prod", env)
    assert roles["extraction"].backend == "unstructured-api" and roles["extraction"].fallback is None
    assert roles["analysis"].backend == "strands/bedrock"
    assert roles["analysis"].env[Env.MODEL_PROVIDER] == "bedrock"
    assert roles["enrichment"].backend == "e2b"
    # The keys reach the process from the inherited environment, never through docpipe's own settings.
    assert all("secret" not in v for r in roles.values() for v in r.env.values())
    shell = {**env, "TEMPORAL_API_KEY": "cloud", "DOCPIPE_BUCKET": "b", "MY_TOKEN": "t", "PATH": "/bin"}
    full = roles["extraction"].full_env(shell)
    assert full["UNSTRUCTURED_API_KEY"] == "uk-secret" and full["PATH"] == "/bin"
    assert "TEMPORAL_API_KEY" not in full and "DOCPIPE_BUCKET" not in full
    # Only what a process needs to start, plus this role's own backend credentials.
    assert "MY_TOKEN" not in full and "E2B_API_KEY" not in full and "AWS_PROFILE" not in full
    enrich = roles["enrichment"].full_env(shell)
    assert enrich["E2B_API_KEY"] == "e2b-secret" and "UNSTRUCTURED_API_KEY" not in enrich
    assert roles["analysis"].full_env(shell)["AWS_PROFILE"] == "dev"
    assert "AWS_PROFILE" not in roles["storage"].full_env(shell)
    offline = _roles("prod", env, offline=True)
    assert offline["extraction"].backend == "local" and "--offline" in (offline["extraction"].fallback or "")


def test_directories_contribute_documents_only_and_duplicates_go_once(tmp_path: Path):
    (tmp_path / "a.txt").write_text("same")
    (tmp_path / "b.md").write_text("same")
    (tmp_path / "make.py").write_text("print(1)")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "c.txt").write_text("hidden")
    inputs = collect([tmp_path])
    assert [p.name for p, _ in inputs.documents] == ["a.txt"]
    assert [(p.name, first.name) for p, first in inputs.duplicates] == [("b.md", "a.txt")]
    assert [p.name for p in inputs.ignored] == ["make.py"]
    (tmp_path / "sheet.xlsx").write_bytes(b"PK")
    (tmp_path / "scan.png").write_bytes(b"\x89PNG")
    named = [tmp_path / "make.py", tmp_path / "sheet.xlsx", tmp_path / "scan.png", tmp_path / "a.txt"]
    explicit = collect(named)  # named explicitly: still never a workflow that could only fail
    assert [p.name for p, _ in explicit.documents] == ["a.txt"]
    assert [p.name for p in explicit.ignored] == ["make.py", "sheet.xlsx", "scan.png"]


def test_the_supported_suffixes_are_one_declaration_read_by_dev_and_submit():
    from workers.documents import content_type_for
    from workers.extraction import DOCUMENT_TYPES, SUPPORTED_SUFFIXES, is_supported, unsupported_note

    assert set(SUPPORTED_SUFFIXES) == set(DOCUMENT_TYPES) >= {".pdf", ".docx", ".md", ".txt", ".html"}
    assert all(content_type_for(f"x{s}") == t for s, t in DOCUMENT_TYPES.items())
    assert is_supported("A.PDF") and not is_supported("sheet.xlsx") and not is_supported("scan.png")
    note = unsupported_note(["sheet.xlsx", "scan.png"])
    assert "sheet.xlsx, scan.png" in note and "supported: .docx .htm .html .markdown .md .pdf .txt" in note


def test_stage_timings_read_from_dicts_and_from_old_reprs():
    assert _timings([{"stage": "analysis", "milliseconds": 12}]) == {"analysis": 12}
    assert _timings(["StageTiming(stage='extraction', milliseconds=867)"]) == {"extraction": 867}


def _spec(tmp_path: Path, name: str, code: str, ready: str | None = "ready") -> ProcessSpec:
    return ProcessSpec(name, [sys.executable, "-c", code], {}, tmp_path / f"{name}.log", ready_text=ready)


SERVE = "import time; print('ready', flush=True); time.sleep(60)"
# A child that starts a grandchild in its own group and ignores SIGTERM: only SIGKILL of the group works.
STUBBORN = (
    "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
    "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
    "print('ready', p.pid, flush=True); time.sleep(60)"
)


def test_supervisor_restarts_a_killed_process_and_stops_whole_groups(tmp_path: Path):
    sup = Supervisor(on_event=lambda _m: None)
    sup.add(_spec(tmp_path, "serve", SERVE))
    sup.add(_spec(tmp_path, "stubborn", STUBBORN))
    try:
        for name in sup.names():
            sup.start(name)
        sup.wait_ready(sup.names(), 20)
        grandchild = int(sup["stubborn"].tail().split()[-1])
        first = sup.kill("serve")
        sup.start_monitor(0.05)
        deadline = time.monotonic() + 20
        while sup["serve"].pid == first or not sup.is_ready("serve"):
            assert time.monotonic() < deadline, "not restarted"
            time.sleep(0.05)
        assert sup["serve"].exit_codes == [-signal.SIGKILL]
        pids = [*sup.pids().values(), grandchild]
    finally:
        sup.stop_all(grace=1)
    assert not wait_gone(pids, 10)
    assert not pid_alive(grandchild)


def test_supervisor_reports_a_process_that_dies_before_ready(tmp_path: Path):
    sup = Supervisor()
    sup.add(_spec(tmp_path, "bad", "import sys; print('no config', flush=True); sys.exit(2)"))
    sup.start("bad")
    with pytest.raises(SupervisorError, match=r"bad exited with code 2 before it was ready[\s\S]*no config"):
        sup.wait_ready(["bad"], 20)
    sup.stop_all(1)


def test_supervisor_gives_up_on_a_crash_loop(tmp_path: Path):
    sup = Supervisor(max_restarts=2, on_event=lambda _m: None)
    sup.add(_spec(tmp_path, "crash", "import sys; sys.exit(3)", ready=None))
    sup.start("crash")
    deadline = time.monotonic() + 20
    while not sup.failures():
        assert time.monotonic() < deadline
        sup.check()
        time.sleep(0.05)
    assert "exited with code 3 after 2 restarts" in sup.failures()["crash"]
    sup.stop_all(1)


def test_plain_display_and_results_table(tmp_path: Path):
    f = tmp_path / "memo.txt"
    f.write_text("hello")
    d = DocProgress(f, describe_file(f))
    out = io.StringIO()
    display = PlainDisplay(out)
    d.outcome, d.started = "running", time.monotonic()
    display.changed(d)
    d.move_to("extraction", time.monotonic())
    display.changed(d)
    d.outcome, d.finished = "stored", time.monotonic()
    d.timings = {"extraction": 1500, "analysis": 20, "storage": 5}
    d.row = DocumentRow(d.sha256, "memo.txt", "stored", None, None, "memo", False)
    display.changed(d)
    print_results([d], out, rich=False)
    text = out.getvalue()
    assert "memo.txt                 started" in text and "memo.txt                 extraction" in text
    assert "stored" in text
    lines = text.splitlines()
    assert lines[-1] == "seconds: extract / analyse / enrich / store"
    table = lines[-2].split()
    assert table == ["memo.txt", "memo", "no", d.sha256[:12], "1.5/0.0/—/0.0", "stored"]


def test_results_table_fits_80_columns_names_stay_apart_and_reasons_go_below(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    docs = []
    reason = "the Unstructured API answered 422: " + "unsupported layout in page 3; " * 12
    for n in range(10):
        name = f"log-{n:02d}-application-server-with-a-long-name-{n}.txt"
        d = DocProgress(Path(name), DocumentRef(f"/x/{name}", f"{n:064x}", name, "text/plain", 1))
        d.outcome, d.failed_stage, d.reason = "failed", "extraction", reason
        d.timings = {"extraction": 1200}
        docs.append(d)
    out = io.StringIO()
    print_results(docs, out, rich=False)
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    body = lines[1:11]
    names = [line.split()[0] for line in body]
    assert len(set(names)) == 10 and all("…" in n and n.endswith(f"-{i}.txt") for i, n in enumerate(names))
    assert all(line.rstrip().endswith(f"failed [{i + 1}]") for i, line in enumerate(body))
    notes = " ".join(lines[12:])
    assert "[1] log-00-application-server-with-a-long-name-0.txt: failed at extraction:" in notes
    assert " ".join(reason.split()) in " ".join(notes.split())


def test_after_ctrl_c_a_summary_of_what_finished_and_counts_are_singular_or_plural(tmp_path: Path):
    from docpipe.cli.dev import interrupted_summary
    from docpipe.cli.table import plural

    assert plural(1, "document") == "1 document" and plural(2, "document") == "2 documents"
    docs = []
    for n, outcome in enumerate(["stored", "failed", "running", "queued"]):
        f = tmp_path / f"d{n}.txt"
        f.write_text(str(n))
        d = DocProgress(f, describe_file(f))
        d.outcome = outcome
        docs.append(d)
    text = interrupted_summary(docs)
    assert text.startswith("4 documents: 1 stored, 1 failed, 2 not finished")
    assert interrupted_summary(docs[:1]) == "1 document: 1 stored"


def test_the_live_table_fits_80_columns_with_names_apart_and_short_outcomes():
    from rich.console import Console

    from docpipe.cli.display import RichDisplay

    console = Console(file=io.StringIO(), width=80, force_terminal=True, color_system=None)
    display = RichDisplay(console)
    try:
        for n in range(10):
            name = f"log-{n:02d}-application-server-with-a-long-name-{n}.txt"
            d = DocProgress(Path(name), DocumentRef(f"/x/{name}", f"{n:064x}", name, "text/plain", 1))
            d.outcome, d.failed_stage, d.reason = "failed", "extraction", "a reason " * 40
            d.timings = {"extraction": 1200}
            display.docs[d.sha256] = d
        out = Console(file=io.StringIO(), width=80, color_system=None)
        out.print(display._render())
        lines = out.file.getvalue().splitlines()
    finally:
        display.close()
    assert max(len(line) for line in lines) <= 80
    rows = [line for line in lines if line.startswith("log-")]
    assert len(rows) == 10 and len({r.split()[0] for r in rows}) == 10
    assert all(r.rstrip().endswith("failed at extraction") for r in rows)
