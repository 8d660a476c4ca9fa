-- One row per document content (sha256): the pipeline's result or its recorded failure.
CREATE TABLE documents (
    sha256        text PRIMARY KEY,
    filename      text NOT NULL,
    uri           text NOT NULL,
    content_type  text NOT NULL,
    size_bytes    bigint NOT NULL,
    status        text NOT NULL CHECK (status IN ('stored', 'failed')),
    reason        text,
    failed_stage  text,
    document_type text,
    summary       text,
    key_entities  jsonb NOT NULL DEFAULT '[]',
    extraction    jsonb,
    analysis      jsonb,
    enrichment    jsonb,
    timings       jsonb NOT NULL DEFAULT '[]',
    workflow_id   text NOT NULL DEFAULT '',
    run_id        text NOT NULL DEFAULT '',
    -- How many times a pipeline run changed this row (a retried store of the same run does not).
    writes        integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX documents_status_idx ON documents (status, updated_at DESC);
