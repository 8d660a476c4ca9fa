"""The e2b backend against a local server speaking the sandbox API (code runs in a child process)."""

from __future__ import annotations

import pytest
from fake_services import SandboxState, e2b_app, serve
from temporalio.exceptions import ApplicationError

from workers.enrichment.e2b_sandbox import E2BSandbox

ELEMENTS = [{"type": "Table", "text": "a 1", "metadata": {}}, {"type": "Title", "text": "T", "metadata": {}}]


@pytest.fixture
def e2b(monkeypatch: pytest.MonkeyPatch):
    state = SandboxState()
    with serve(e2b_app(state)) as url:
        monkeypatch.setenv("E2B_API_KEY", "e2b_test_key")
        monkeypatch.setenv("E2B_API_URL", url)
        monkeypatch.setenv("E2B_SANDBOX_URL", url)
        yield state


async def test_code_runs_in_a_sandbox_that_is_killed_afterwards(e2b: SandboxState):
    stdout, result = await E2BSandbox(timeout_seconds=20).run(
        "print('counting')\nresult = {'tables': sum(e['type'] == 'Table' for e in elements)}", ELEMENTS
    )
    assert result == {"tables": 1}
    assert "counting" in stdout
    assert e2b.created == e2b.killed == ["sbx1"]


async def test_a_code_error_is_a_non_retryable_enrichment_failure_and_the_sandbox_still_dies(
    e2b: SandboxState,
):
    with pytest.raises(ApplicationError) as info:
        await E2BSandbox(timeout_seconds=20).run("raise ValueError('no totals here')", ELEMENTS)
    assert info.value.non_retryable and info.value.type == "EnrichmentFailed"
    assert "ValueError" in info.value.message and "no totals here" in info.value.message
    assert e2b.killed == e2b.created == ["sbx1"]


async def test_without_an_api_key_it_fails_before_any_request(
    monkeypatch: pytest.MonkeyPatch, e2b: SandboxState
):
    from e2b.exceptions import AuthenticationException

    monkeypatch.delenv("E2B_API_KEY")
    with pytest.raises(AuthenticationException):
        await E2BSandbox(timeout_seconds=5).run("result = 1", ELEMENTS)
    assert e2b.created == []
