"""The names shared by the worker runtime and everything that places it.

This module is the one source of truth for role names, task queues, Worker Deployment names and the
environment variables a worker process reads. It imports nothing, so the Pulumi program, the local
realizer and the cost model can use it without pulling the worker runtime in, and the worker image
never needs anything but `workers/`.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Role = Literal["workflow", "extraction", "analysis", "enrichment", "storage"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
ActivityRole = Literal["extraction", "analysis", "enrichment", "storage"]
ACTIVITY_ROLES: Final[tuple[ActivityRole, ...]] = get_args(ActivityRole)

DEFAULT_QUEUE_PREFIX: Final = "docpipe"
DEFAULT_UPLOAD_PREFIX: Final = "incoming/"
# A Lambda worker's deadline buffer is its graceful stop plus this, for its shutdown hooks (closing
# clients): temporalio.contrib.aws.lambda_worker's own margin, and the one docpipe derives with.
LAMBDA_HOOK_SECONDS: Final = 2
# Activity heartbeats, declared once for the workers and the cost model (Temporal Cloud bills each
# recorded heartbeat as an action): the roles whose activities heartbeat while they wait on a backend
# and the heartbeat timeout the workflow sets. A worker that died mid-activity is noticed this long
# after its last heartbeat; workers/heartbeat.py beats at a third of it (one lost or late beat does
# not time the activity out), the first beat only after that: a short activity sends none.
HEARTBEATING_ROLES: Final[tuple[ActivityRole, ...]] = ("extraction", "analysis", "enrichment")
HEARTBEAT_TIMEOUT_SECONDS: Final = 30
HEARTBEAT_EVERY_SECONDS: Final = HEARTBEAT_TIMEOUT_SECONDS / 3
# An E2B sandbox is created to expire this long after its run's own deadline (if the kill is lost);
# E2B bills a sandbox from creation to kill or expiry.
E2B_SANDBOX_EXPIRY_MARGIN_SECONDS: Final = 30


def e2b_sandbox_lifetime_seconds(run_timeout_seconds: float) -> int:
    """The lifetime an E2B sandbox is created with: the run's timeout (rounded up) plus the margin."""
    return -int(-run_timeout_seconds // 1) + E2B_SANDBOX_EXPIRY_MARGIN_SECONDS


# Search attributes a run carries so a person finds a document in the Temporal UI / CLI
# (`DocpipeName = "invoice.pdf"`): name → indexed type, registered where docpipe owns the namespace
# (the dev server, Temporal Cloud, self-hosted) and set only there (`Env.SEARCH_ATTRIBUTES`).
NAME_ATTRIBUTE: Final = "DocpipeName"  # the document's file name, set at start
TYPE_ATTRIBUTE: Final = "DocpipeType"  # its type, set after analysis
SEARCH_ATTRIBUTES: Final = {NAME_ATTRIBUTE: "Keyword", TYPE_ATTRIBUTE: "Keyword"}
# The error type a run ends with when its document failed (its row is stored, status failed).
DOCUMENT_FAILED: Final = "DocumentFailed"


def task_queue(role: str, prefix: str = DEFAULT_QUEUE_PREFIX) -> str:
    """Task queue of a role. Placement never changes it, so a target flip is invisible to workflows."""
    return f"{prefix}-{role}"


def deployment_name(stack: str, role: str) -> str:
    """Worker Deployment of a role: one per stack and role, so each role rolls out on its own."""
    return f"docpipe-{stack}-{role}"


class Env:
    """Environment variables a worker process reads (set by the placements and by `docpipe dev`).

    Temporal connection settings are not here: they come from temporalio's envconfig
    (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS`, `temporal.toml`).
    """

    ROLE: Final = "DOCPIPE_ROLE"
    STACK: Final = "DOCPIPE_STACK"
    QUEUE_PREFIX: Final = "DOCPIPE_QUEUE_PREFIX"
    DEPLOYMENT_NAME: Final = "DOCPIPE_DEPLOYMENT_NAME"
    BUILD_ID: Final = "DOCPIPE_BUILD_ID"
    SHUTDOWN_GRACE_SECONDS: Final = "DOCPIPE_SHUTDOWN_GRACE_SECONDS"
    ACTIVITY_TIMEOUT_SECONDS: Final = "DOCPIPE_ACTIVITY_TIMEOUT_SECONDS"
    # Where workflows are started (submit, the bucket starter): start-to-close seconds per stage as
    # JSON, e.g. {"extraction": 840}. The caller of an activity sets its timeout, so a placement's
    # limit (Lambda's 15 minutes) reaches the workflow through its input, not the activity's env.
    STAGE_TIMEOUTS: Final = "DOCPIPE_STAGE_TIMEOUTS"

    EXTRACTION_BACKEND: Final = "DOCPIPE_EXTRACTION_BACKEND"  # unstructured-api | local
    UNSTRUCTURED_API_URL: Final = "UNSTRUCTURED_API_URL"
    UNSTRUCTURED_API_KEY: Final = "UNSTRUCTURED_API_KEY"
    UNSTRUCTURED_STRATEGY: Final = "DOCPIPE_UNSTRUCTURED_STRATEGY"
    UNSTRUCTURED_SPLIT_PDF_PAGE: Final = "DOCPIPE_UNSTRUCTURED_SPLIT_PDF_PAGE"  # true | false

    ANALYSIS_BACKEND: Final = "DOCPIPE_ANALYSIS_BACKEND"  # strands | heuristic
    MODEL_PROVIDER: Final = "DOCPIPE_MODEL_PROVIDER"  # bedrock | anthropic | openai | ollama
    MODEL_ID: Final = "DOCPIPE_MODEL_ID"
    OLLAMA_HOST: Final = "OLLAMA_HOST"
    ANTHROPIC_API_KEY: Final = "ANTHROPIC_API_KEY"
    OPENAI_API_KEY: Final = "OPENAI_API_KEY"

    ENRICHMENT_BACKEND: Final = "DOCPIPE_ENRICHMENT_BACKEND"  # e2b | local-sandbox
    ENRICHMENT_TIMEOUT_SECONDS: Final = "DOCPIPE_ENRICHMENT_TIMEOUT_SECONDS"
    E2B_API_KEY: Final = "E2B_API_KEY"
    # local-sandbox limits (per run): CPU seconds, address space in MiB, captured output in bytes.
    SANDBOX_CPU_SECONDS: Final = "DOCPIPE_SANDBOX_CPU_SECONDS"
    SANDBOX_MEMORY_MB: Final = "DOCPIPE_SANDBOX_MEMORY_MB"
    SANDBOX_OUTPUT_BYTES: Final = "DOCPIPE_SANDBOX_OUTPUT_BYTES"

    DATABASE_URL: Final = "DOCPIPE_DATABASE_URL"
    # On AWS the RDS-managed master secret (ARN) is given instead of a URL; the worker resolves it.
    DATABASE_SECRET_ARN: Final = "DOCPIPE_DATABASE_SECRET_ARN"
    DATABASE_HOST: Final = "DOCPIPE_DATABASE_HOST"
    DATABASE_NAME: Final = "DOCPIPE_DATABASE_NAME"
    VALKEY_URL: Final = "DOCPIPE_VALKEY_URL"
    VALKEY_PASSWORD: Final = "DOCPIPE_VALKEY_PASSWORD"  # filled from the `valkeyAuth` secret ref
    # Set by `docpipe dev` only: a Valkey hash where each activity notes its document's stage as it
    # starts (workers/stages.py) — the live view's stages without any Temporal call.
    STAGE_KEY: Final = "DOCPIPE_STAGE_KEY"
    MAX_CONCURRENT_SANDBOXES: Final = "DOCPIPE_MAX_CONCURRENT_SANDBOXES"
    MAX_CONCURRENT_MODEL_CALLS: Final = "DOCPIPE_MAX_CONCURRENT_MODEL_CALLS"

    BUCKET: Final = "DOCPIPE_BUCKET"  # document + payload bucket in the cloud
    # Key prefix whose uploads start a workflow (`bucket.uploadPrefix`): the bucket starter takes only
    # keys under it, and `docpipe submit` uploads there.
    UPLOAD_PREFIX: Final = "DOCPIPE_UPLOAD_PREFIX"
    PAYLOAD_DIR: Final = "DOCPIPE_PAYLOAD_DIR"  # large-payload directory in dev
    # true where the namespace has docpipe's SEARCH_ATTRIBUTES registered (a run setting an unknown
    # one is refused at start); elsewhere runs carry the name and type in their memo only.
    SEARCH_ATTRIBUTES: Final = "DOCPIPE_SEARCH_ATTRIBUTES"
    # Payloads at least this large go to external storage instead of workflow history.
    PAYLOAD_THRESHOLD_BYTES: Final = "DOCPIPE_PAYLOAD_THRESHOLD_BYTES"
    # `docpipe worker` makes its own version current at start: always (default) | if-unset | never.
    PROMOTE_VERSION: Final = "DOCPIPE_PROMOTE_VERSION"
    # Secrets the worker fetches itself at start (ARNs / resource names, never values).
    SECRET_REFS: Final = "DOCPIPE_SECRET_REFS"

    # Lambda worker timing (seconds; see docs/lambda-workers.md). Graceful stop: how long a stopping
    # invocation lets running activities finish (> the longest activity). Deadline buffer: how long
    # before the invocation deadline the worker stops polling (> graceful stop + shutdown work).
    LAMBDA_GRACEFUL_STOP_SECONDS: Final = "DOCPIPE_LAMBDA_GRACEFUL_STOP_SECONDS"
    LAMBDA_DEADLINE_BUFFER_SECONDS: Final = "DOCPIPE_LAMBDA_DEADLINE_BUFFER_SECONDS"

    # Web identity where AWS_ROLE_ARN is set without a token file (Cloud Run; workers/aws.py): the
    # audience of the Google ID token (the role's trust policy checks accounts.google.com:aud), and
    # optionally the seconds each assumed-role session lasts (900-43200; STS's default is 3600).
    AWS_WEB_IDENTITY_AUDIENCE: Final = "DOCPIPE_AWS_WEB_IDENTITY_AUDIENCE"
    AWS_SESSION_SECONDS: Final = "DOCPIPE_AWS_SESSION_SECONDS"


# Secret refs (keys of DOCPIPE_SECRET_REFS) → the environment variable a worker puts the value in.
SECRET_REF_ENV: Final[dict[str, str]] = {
    "unstructuredApiKey": Env.UNSTRUCTURED_API_KEY,
    "e2bApiKey": Env.E2B_API_KEY,
    "anthropicApiKey": Env.ANTHROPIC_API_KEY,
    "openaiApiKey": Env.OPENAI_API_KEY,
    "temporalApiKey": "TEMPORAL_API_KEY",
    "valkeyAuth": Env.VALKEY_PASSWORD,
}

DEFAULT_BUILD_ID: Final = "local"
DEFAULT_STACK: Final = "dev"
WORKFLOW_TYPE: Final = "DocumentPipelineWorkflow"


def workflow_id(sha256: str) -> str:
    """Workflow id of a document: one run per content, so a re-upload never starts a second run."""
    return f"doc-{sha256}"
