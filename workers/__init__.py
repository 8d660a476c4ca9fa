"""The worker runtime: everything the worker image needs, importing nothing from docpipe/ or infra/.

contract.py        shared names: roles, task queues, deployment names, env vars
workflow.py        DocumentPipelineWorkflow (extraction → analysis → enrichment → storage)
types.py           the dataclasses each workflow/activity takes and returns
extraction/        local parsers (text, Markdown, HTML, PDF, DOCX) and the Unstructured API
analysis/          heuristic rules and the Strands agent, both returning DocumentAnalysis
enrichment/        local sandbox (limited child process) and E2B
storage/           PostgreSQL: migrations, idempotent upsert, status read side
roles.py           what each role's worker registers
serve.py, cli.py   `docpipe worker ROLE` and `docpipe submit`
lambda_handler.py  the Lambda (Serverless Worker) entrypoint; starter.py: bucket uploads
cache.py           Valkey cache and semaphore; payloads.py: external storage for big payloads
"""
