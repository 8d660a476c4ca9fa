"""local-sandbox: model-written code runs in a bubblewrap sandbox; each limit ends clearly.

The escape attempts (sockets, files, processes, IPC, environment) are in
tests/faults/test_fault_sandbox_escapes.py."""

from __future__ import annotations

import os
import subprocess

import pytest
from temporalio.exceptions import ApplicationError

from workers.enrichment.local_sandbox import LocalSandbox, SandboxLimits

LIMITS = SandboxLimits(cpu_seconds=1, memory_mb=256, output_bytes=20_000, wall_seconds=4)
ELEMENTS = [{"type": "Table", "text": "1 2", "metadata": {}}]


async def _fail(code: str, limits: SandboxLimits = LIMITS) -> str:
    with pytest.raises(ApplicationError) as info:
        await LocalSandbox(limits).run(code, ELEMENTS)
    assert info.value.non_retryable and info.value.type == "EnrichmentFailed"
    return info.value.message


async def test_code_sees_elements_and_returns_result():
    stdout, result = await LocalSandbox(LIMITS).run("print('hi')\nresult = {'n': len(elements)}", ELEMENTS)
    assert result == {"n": 1} and stdout.strip() == "hi"


async def test_runs_in_another_process_in_an_empty_directory_with_a_minimal_environment():
    code = "import os\nresult = {'pid': os.getpid(), 'files': os.listdir('.'), 'env': sorted(os.environ)}"
    _, result = await LocalSandbox(LIMITS).run(code, ELEMENTS)
    assert isinstance(result, dict)
    assert result["pid"] != os.getpid()
    assert result["files"] == []
    assert "DOCPIPE_DATABASE_URL" not in result["env"] and "PATH" in result["env"]


async def test_infinite_loop_hits_the_cpu_limit():
    assert "CPU-time limit (1 s)" in await _fail("while True:\n    pass")


async def test_sleeping_forever_hits_the_wall_clock_limit():
    limits = SandboxLimits(cpu_seconds=5, memory_mb=256, output_bytes=20_000, wall_seconds=1.5)
    assert "wall-clock limit (1.5 s)" in await _fail("import time\ntime.sleep(60)", limits)


async def test_memory_hog_hits_the_memory_limit():
    assert "memory limit (256 MiB)" in await _fail(
        "blocks = []\nwhile True:\n    blocks.append(bytearray(10**7))"
    )


async def test_socket_attempt_finds_no_network():
    code = "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)"
    message = await _fail(code)
    assert "network" in message


async def test_huge_output_hits_the_output_limit():
    assert "output limit" in await _fail("while True:\n    print('x' * 1000)")


async def test_an_exception_names_its_type():
    assert "ZeroDivisionError" in await _fail("result = 1 / 0")


async def test_the_code_runs_as_nobody_and_sees_none_of_the_workers_files(work_dir):
    precious = work_dir / "precious.txt"
    precious.write_text("keep me")
    _, result = await LocalSandbox(LIMITS).run("import os\nresult = os.getuid()", ELEMENTS)
    assert result == 65534
    message = await _fail(f"import os\nos.remove({str(precious)!r})")
    assert "FileNotFoundError" in message
    assert precious.read_text() == "keep me"


async def test_each_program_gets_a_fresh_private_tmp():
    code = "import os\nfound = os.listdir('/tmp')\nopen('/tmp/mine', 'w').write('x')\nresult = found"
    sandbox = LocalSandbox(LIMITS)
    assert (await sandbox.run(code, ELEMENTS))[1] == []
    assert (await sandbox.run(code, ELEMENTS))[1] == []  # the first run's file went with its sandbox


def test_a_starting_sandbox_removes_directories_of_dead_workers(tmp_path):
    from workers.enrichment.local_sandbox import WORKDIR_PREFIX, sweep_orphaned_workdirs

    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid is now free (a reused pid would only defer the sweep)
    orphan = tmp_path / f"{WORKDIR_PREFIX}{dead.pid}-abc"
    live = tmp_path / f"{WORKDIR_PREFIX}{os.getpid()}-def"
    other = tmp_path / f"{WORKDIR_PREFIX}{os.getppid()}-ghi"
    for d in (orphan, live, other):
        (d / "sub").mkdir(parents=True)
    assert sweep_orphaned_workdirs(str(tmp_path)) == 1
    assert not orphan.exists()
    assert live.exists() and other.exists()
