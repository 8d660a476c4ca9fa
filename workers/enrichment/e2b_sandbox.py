"""The `e2b` enrichment backend: one E2B AsyncSandbox per run, bounded by a timeout, always killed.

`E2B_API_KEY` authenticates; `E2B_API_URL` / `E2B_SANDBOX_URL` point the client elsewhere (tests).
"""

from __future__ import annotations

import logging

from workers.contract import e2b_sandbox_lifetime_seconds
from workers.enrichment.program import inline_program, parse_output
from workers.errors import enrichment_failed
from workers.types import Element

logger = logging.getLogger(__name__)


class E2BSandbox:
    def __init__(self, timeout_seconds: float, output_bytes: int = 1_000_000) -> None:
        self.timeout_seconds = timeout_seconds
        self.output_bytes = output_bytes

    async def run(self, code: str, elements: list[Element]) -> tuple[str, object]:
        from e2b.exceptions import TimeoutException
        from e2b_code_interpreter import AsyncSandbox

        # The sandbox itself expires shortly after the run's own deadline, even if our kill is lost.
        sandbox = await AsyncSandbox.create(timeout=e2b_sandbox_lifetime_seconds(self.timeout_seconds))
        try:
            execution = await sandbox.run_code(inline_program(code, elements), timeout=self.timeout_seconds)
        except TimeoutException as err:
            if "Execution timed out" not in str(err):
                raise  # a request timeout talking to E2B: transient, retried
            raise enrichment_failed(
                f"enrichment code exceeded the wall-clock limit ({self.timeout_seconds:g} s)"
            ) from None
        finally:
            try:
                await sandbox.kill()
            except Exception as err:  # the sandbox times out on its own; a failed kill is not fatal
                logger.warning("could not kill E2B sandbox %s: %s", sandbox.sandbox_id, type(err).__name__)
        if execution.error is not None:
            raise enrichment_failed(
                f"enrichment code failed: {execution.error.name}: {execution.error.value}"
            )
        stdout = "".join(execution.logs.stdout)
        if len(stdout.encode()) > self.output_bytes:
            raise enrichment_failed(
                f"enrichment code printed more than the {self.output_bytes} byte output limit"
            )
        return parse_output(stdout)
