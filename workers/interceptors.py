"""Worker interceptors: every activity error leaves the process with secret values scrubbed."""

from __future__ import annotations

from typing import Any, NoReturn

from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from workers.redact import scrub, scrub_all


def _raise_scrubbed(err: BaseException) -> NoReturn:
    """Re-raise `err` as an ApplicationError with secret-free text and the same retry semantics.

    `from None`: Temporal serialises the cause chain into the failure, and the original exception's
    message is exactly what must not leave.
    """
    if isinstance(err, ApplicationError):
        if not _dirty(err) and not any(scrub(str(d)) != str(d) for d in err.details):
            raise err
        raise ApplicationError(
            scrub(err.message),
            *scrub_all(list(err.details)),
            type=err.type,
            non_retryable=err.non_retryable,
            next_retry_delay=err.next_retry_delay,
            category=err.category,
        ) from None
    if not _dirty(err):
        raise err
    # A plain exception is retried by Temporal as ApplicationError(type=<class name>): keep that.
    raise ApplicationError(scrub(str(err)), type=type(err).__name__) from None


def _dirty(err: BaseException | None) -> bool:
    """Whether `err` or any exception Temporal would serialise with it (cause, context) holds a secret."""
    seen = 0
    while err is not None and seen < 20:
        text = str(err)
        if scrub(text) != text:
            return True
        err = err.__cause__ or (None if err.__suppress_context__ else err.__context__)
        seen += 1
    return False


class _Inbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except CancelledError:
            raise
        except Exception as err:
            _raise_scrubbed(err)


class RedactingInterceptor(Interceptor):
    """Worker interceptor: every activity error leaves with its secret values scrubbed."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next)
