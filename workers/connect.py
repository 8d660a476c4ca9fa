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
# What the command line adds to a NoTemporal (a Lambda starter has no local stack to start).
NOTHING_ANSWERS_HINT = (
    "  start the local stack in another terminal: docpipe dev --keep-running\n"
    "  or name a Temporal: --address HOST:PORT, --profile NAME, TEMPORAL_ADDRESS,\n"
    "  TEMPORAL_CONFIG_FILE"
)


class NoTemporal(RuntimeError):
    """Nothing answers at the configured address; the message says what to start or set."""


def connect_config(settings: Settings) -> dict[str, Any]:
    from temporalio.envconfig import ClientConfigProfile

    config: dict[str, Any] = dict(ClientConfigProfile.load().to_client_connect_config())
    config.setdefault("target_host", DEFAULT_ADDRESS)
    config["data_converter"] = data_converter(settings)
    return config


async def connect(settings: Settings) -> Client:
    config = connect_config(settings)
    try:
        return await Client.connect(**config)
    except RuntimeError as err:
        if not str(err).startswith("Failed client connect"):
            raise
        raise NoTemporal(f"no Temporal answers at {config['target_host']} ({_reason(str(err))})") from None


def _reason(message: str) -> str:
    """The useful end of a tonic transport error ("Connection refused", "timed out", ...)."""
    for known in ("Connection refused", "timed out", "dns error", "certificate", "tls"):
        if known.lower() in message.lower():
            return known
    return message.splitlines()[0][:120]
