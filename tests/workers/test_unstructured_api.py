"""The unstructured-api backend against a local server speaking the partition API's wire format."""

from __future__ import annotations

import io

import pytest
from fake_services import PartitionState, serve, unstructured_app
from pypdf import PdfWriter
from temporalio.exceptions import ApplicationError
from unstructured_client.models.errors import ServerError

from workers.documents import describe_bytes
from workers.extraction.unstructured_api import UnstructuredApiExtractor
from workers.settings import Settings


def _pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _extractor(url: str, **overrides: object) -> UnstructuredApiExtractor:
    settings = Settings(unstructured_api_url=url, unstructured_api_key="test-key", **overrides)  # type: ignore[arg-type]
    return UnstructuredApiExtractor(settings, max_retry_ms=1500)


async def test_partition_returns_unstructured_elements(samples_dir):
    state = PartitionState()
    data = (samples_dir / "memo.txt").read_bytes()
    with serve(unstructured_app(state)) as url:
        elements, pages = await _extractor(url).extract(describe_bytes(data, "memo.txt", "memo.txt"), data)
    assert [e["metadata"]["filename"] for e in elements] == ["memo.txt"]
    assert pages == 1
    assert state.calls[0]["strategy"] == "fast"
    assert state.docs_probes == 0


async def test_multi_page_pdf_is_split_into_page_chunks():
    state = PartitionState()
    data = _pdf(8)
    with serve(unstructured_app(state)) as url:
        elements, pages = await _extractor(url).extract(describe_bytes(data, "big.pdf", "big.pdf"), data)
    assert state.docs_probes >= 1, "the split path probes /general/docs first"
    assert len(state.calls) > 1, "pages went out in several chunk requests"
    assert sorted(int(c["starting_page_number"]) for c in state.calls)[0] == 1
    assert sorted(e["metadata"]["page_number"] for e in elements) == list(range(1, 9))
    assert pages == 8


async def test_split_can_be_turned_off():
    state = PartitionState()
    data = _pdf(8)
    with serve(unstructured_app(state)) as url:
        extractor = _extractor(url, unstructured_split_pdf_page=False)
        elements, _ = await extractor.extract(describe_bytes(data, "big.pdf", "big.pdf"), data)
    assert len(state.calls) == 1 and len(elements) == 8


@pytest.mark.parametrize("status", [400, 422])
async def test_client_errors_are_bad_documents(status: int):
    state = PartitionState(fail_status=status)
    data = b"hello"
    with serve(unstructured_app(state)) as url, pytest.raises(ApplicationError) as info:
        await _extractor(url).extract(describe_bytes(data, "a.txt", "a.txt"), data)
    assert info.value.non_retryable and info.value.type == "BadDocument"
    assert str(status) in info.value.message and "test-key" not in info.value.message


async def test_server_errors_are_retried_then_raised_as_transient():
    state = PartitionState(fail_status=503)
    data = b"hello"
    with serve(unstructured_app(state)) as url, pytest.raises(ServerError):
        await _extractor(url).extract(describe_bytes(data, "a.txt", "a.txt"), data)
    assert len(state.calls) > 1, "the client's own bounded retries ran"


async def test_a_transient_error_then_success():
    state = PartitionState(fail_status=502, fail_times=1)
    data = b"hello"
    with serve(unstructured_app(state)) as url:
        elements, _ = await _extractor(url).extract(describe_bytes(data, "a.txt", "a.txt"), data)
    assert len(elements) == 1 and len(state.calls) == 2


async def test_a_refused_key_is_retryable_and_names_the_setting():
    state = PartitionState(api_key="the-right-key")
    data = b"hello"
    with serve(unstructured_app(state)) as url, pytest.raises(ApplicationError) as info:
        await _extractor(url).extract(describe_bytes(data, "a.txt", "a.txt"), data)
    assert not info.value.non_retryable
    assert "401" in info.value.message and "UNSTRUCTURED_API_KEY" in info.value.message
    assert "test-key" not in info.value.message
