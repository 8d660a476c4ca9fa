"""Temporal connection from temporalio envconfig: `temporal.toml` profiles and TEMPORAL_* variables.

TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY (implies TLS), TEMPORAL_TLS*, TEMPORAL_PROFILE
and TEMPORAL_CONFIG_FILE all work as the Temporal CLI reads them. Nothing is set in code.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client

from workers.payloads import data_converter
from workers.settings import Settings

DEFAULT_ADDRESS = "localhost:7233"


def connect_config(settings: Settings) -> dict[str, Any]:
    from temporalio.envconfig import ClientConfigProfile

    config: dict[str, Any] = dict(ClientConfigProfile.load().to_client_connect_config())
    config.setdefault("target_host", DEFAULT_ADDRESS)
    config["data_converter"] = data_converter(settings)
    return config


async def connect(settings: Settings) -> Client:
    return await Client.connect(**connect_config(settings))
