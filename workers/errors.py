"""Typed failures: a bad document is non-retryable and ends as a recorded `failed` row.

Transient faults (5xx, 429, timeouts, connection errors) are ordinary exceptions: Temporal retries
them by the activity's retry policy.
"""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

BAD_DOCUMENT = "BadDocument"
BAD_MODEL_OUTPUT = "BadModelOutput"
ENRICHMENT_FAILED = "EnrichmentFailed"
# Storage could not write even the document's failure: retrying the same values cannot help.
UNSTORABLE = "Unstorable"
# Errors that retrying cannot fix; the workflow records them as the document's failure reason.
NON_RETRYABLE = [BAD_DOCUMENT, BAD_MODEL_OUTPUT, ENRICHMENT_FAILED]


def bad_document(reason: str) -> ApplicationError:
    return ApplicationError(reason, type=BAD_DOCUMENT, non_retryable=True)


def bad_model_output(reason: str) -> ApplicationError:
    return ApplicationError(reason, type=BAD_MODEL_OUTPUT, non_retryable=True)


def enrichment_failed(reason: str) -> ApplicationError:
    return ApplicationError(reason, type=ENRICHMENT_FAILED, non_retryable=True)


def unstorable(reason: str) -> ApplicationError:
    return ApplicationError(reason, type=UNSTORABLE, non_retryable=True)
