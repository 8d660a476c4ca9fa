"""The whole pipeline on real services: five worker processes (one per role) on the samples."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest
from temporalio.client import Client
from worker_procs import pipeline_env, running_workers

from workers.documents import describe_file
from workers.payloads import data_converter
from workers.settings import Settings
from workers.storage.status import read_status
from workers.submit import start_pipeline
from workers.types import PipelineResult

pytestmark = pytest.mark.services

SAMPLES = ["invoice.pdf", "contract.docx", "report.md", "page.html", "memo.txt"]


async def _client(env: dict[str, str]) -> Client:
    return await Client.connect(
        env["TEMPORAL_ADDRESS"], data_converter=data_converter(Settings.from_env(env))
    )


async def test_samples_end_to_end(temporal_server, database_url, valkey, samples_dir: Path, tmp_path: Path):
    # A low payload threshold sends the larger element lists through external storage.
    env = pipeline_env(
        temporal_server.address,
        database_url,
        tmp_path,
        DOCPIPE_VALKEY_URL=valkey.url,
        DOCPIPE_PAYLOAD_THRESHOLD_BYTES="2048",
    )
    settings = Settings.from_env(env)
    with running_workers(env):
        client = await _client(env)
        subs = [await start_pipeline(client, describe_file(samples_dir / name), settings) for name in SAMPLES]
        assert all(s.started for s in subs)
        results = await asyncio.gather(
            *(client.get_workflow_handle(s.workflow_id, result_type=PipelineResult).result() for s in subs)
        )
    by_name = {r.filename: r for r in results}
    assert {r.status for r in results} == {"stored"}, [(r.filename, r.reason) for r in results]
    assert by_name["invoice.pdf"].document_type == "invoice"
    assert by_name["contract.docx"].document_type == "contract"
    assert by_name["memo.txt"].document_type == "memo"
    # The report's table went through the enrichment sandbox: its columns were totalled.
    report = by_name["report.md"]
    assert report.needs_enrichment
    assert report.enrichment_output["column_totals"]["Q3 sales"] == 46800 + 33100 + 24050
    assert not by_name["memo.txt"].needs_enrichment
    assert [t.stage for t in report.timings] == ["extraction", "analysis", "enrichment", "storage"]

    status = read_status(database_url)
    assert status.counts == {"stored": 5}
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT filename, writes, extraction->>'elements' FROM documents").fetchall()
    assert sorted(r[0] for r in rows) == sorted(SAMPLES)
    assert all(r[1] == 1 and int(r[2]) > 0 for r in rows)
    assert any((tmp_path / "payloads").iterdir()), "no payload went through external storage"
