"""Settings from the environment, secret refs, and the local external-storage driver."""

from __future__ import annotations

import json

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.converter import StorageDriverRetrieveContext, StorageDriverStoreContext

import workers.secrets
from workers.payloads import LocalDirStorageDriver, data_converter
from workers.settings import Settings, SettingsError


def test_defaults_are_the_offline_backends():
    s = Settings.from_env({})
    assert (s.extraction_backend, s.analysis_backend, s.enrichment_backend) == (
        "local",
        "heuristic",
        "local-sandbox",
    )
    assert s.task_queue("analysis") == "docpipe-analysis"
    assert s.deployment_name("analysis") == "docpipe-dev-analysis"


def test_deployment_name_and_prefix_come_from_the_environment():
    s = Settings.from_env(
        {
            "DOCPIPE_STACK": "prod",
            "DOCPIPE_QUEUE_PREFIX": "x",
            "DOCPIPE_DEPLOYMENT_NAME": "custom",
            "DOCPIPE_BUILD_ID": "b7",
        }
    )
    assert (s.task_queue("storage"), s.deployment_name("storage"), s.build_id) == (
        "x-storage",
        "custom",
        "b7",
    )


def test_unknown_backend_names_fail_with_the_choices():
    with pytest.raises(
        SettingsError, match="DOCPIPE_ENRICHMENT_BACKEND='docker' is not one of: local-sandbox, e2b"
    ):
        Settings.from_env({"DOCPIPE_ENRICHMENT_BACKEND": "docker"})


def test_secret_refs_fill_env_vars_without_overriding(monkeypatch: pytest.MonkeyPatch):
    fetched: list[str] = []

    def fake_fetch(arn: str) -> str:
        fetched.append(arn)
        return f"value-of-{arn.rsplit(':', 1)[-1]}"

    monkeypatch.setattr(workers.secrets, "_fetch", fake_fetch)
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
    env = {
        "DOCPIPE_SECRET_REFS": json.dumps(
            {"e2bApiKey": arn + "e2b", "valkeyAuth": arn + "vk", "openaiApiKey": arn + "oa", "x": arn + "x"}
        ),
        "OPENAI_API_KEY": "already-set",
    }
    assert workers.secrets.resolve_secret_refs(env) == ["E2B_API_KEY", "DOCPIPE_VALKEY_PASSWORD"]
    assert env["E2B_API_KEY"] == "value-of-e2b" and env["OPENAI_API_KEY"] == "already-set"
    assert fetched == [arn + "e2b", arn + "vk"]


async def test_local_dir_driver_round_trips_payloads(tmp_path):
    driver = LocalDirStorageDriver(tmp_path / "p")
    payload = Payload(metadata={"encoding": b"json/plain"}, data=b'{"elements": []}' * 1000)
    claims = await driver.store(StorageDriverStoreContext(), [payload])
    assert await driver.retrieve(StorageDriverRetrieveContext(), claims) == [payload]
    assert len(list((tmp_path / "p").iterdir())) == 1


def test_converter_uses_external_storage_only_when_configured(tmp_path):
    assert data_converter(Settings()).external_storage is None
    storage = data_converter(
        Settings(payload_dir=str(tmp_path), payload_threshold_bytes=1000)
    ).external_storage
    assert storage is not None and storage.payload_size_threshold == 1000


def test_stage_timeouts_travel_in_the_workflow_input():
    s = Settings.from_env({"DOCPIPE_STAGE_TIMEOUTS": '{"extraction": 840, "analysis": 0}'})
    assert s.stage_timeouts == {"extraction": 840.0}
    with pytest.raises(SettingsError, match="DOCPIPE_STAGE_TIMEOUTS must be a JSON object"):
        Settings.from_env({"DOCPIPE_STAGE_TIMEOUTS": "[1, 2]"})
