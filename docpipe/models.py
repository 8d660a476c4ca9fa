"""The base of every config model: camelCase keys as in stack files, unknown keys refused, immutable."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

# The Pulumi config namespace of every docpipe key (`docpipe:activities…`), as messages name keys.
NAMESPACE = "docpipe"


class ConfigModel(BaseModel):
    """Base for config models (stack config sections and each target's sizing)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )
