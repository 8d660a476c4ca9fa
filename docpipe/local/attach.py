"""Client commands (`submit`, `worker`, `status`) find the running `docpipe dev` of this checkout.

`docpipe dev` picks free ports and records, in `.docpipe/dev.json`, the environment it gives each
role's worker. A client command started with no Temporal connection of its own (no `--address`,
`--profile`, `TEMPORAL_ADDRESS`, `TEMPORAL_PROFILE` or `TEMPORAL_CONFIG_FILE`) takes that
environment: `docpipe submit` the workflow role's (its queue prefix, payload store and Temporal
profile), `docpipe worker ROLE` the role's own (so it joins dev's workers on the same queue).

An explicit connection always wins, exactly as the Temporal CLI reads it (temporalio envconfig).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

# What names a Temporal connection for temporalio's envconfig (and the `temporal` CLI).
CONNECTION_VARS = ("TEMPORAL_ADDRESS", "TEMPORAL_PROFILE", "TEMPORAL_CONFIG_FILE")


@dataclass(frozen=True)
class Attachment:
    """The variables to set, and a line saying where they came from (None: nothing was attached)."""

    env: dict[str, str]
    source: str | None


def explicit_connection(env: Mapping[str, str]) -> bool:
    return any(env.get(name) for name in CONNECTION_VARS)


def attach(
    role: str,
    *,
    address: str | None = None,
    profile: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Attachment:
    """The environment a client command for `role` runs with (`workflow` for submit).

    `--address` / `--profile` become TEMPORAL_ADDRESS / TEMPORAL_PROFILE; with those, or with a
    connection in `env`, nothing is attached. Otherwise a live `docpipe dev` of this data dir lends
    the role's environment (its DOCPIPE_* and TEMPORAL_* variables replace the caller's).
    """
    src = os.environ if env is None else env
    flags = {k: v for k, v in (("TEMPORAL_ADDRESS", address), ("TEMPORAL_PROFILE", profile)) if v}
    if flags or explicit_connection(src):
        return Attachment(flags, None)
    from docpipe.local.home import resolve_home
    from docpipe.local.state import read_state

    home = resolve_home()
    state = read_state(home)
    if state is None or not state.role_envs:
        return Attachment({}, None)
    lent = state.role_envs.get(role) or state.role_envs.get("workflow") or {}
    return Attachment(
        dict(lent), f"using docpipe dev (pid {state.pid}, stack {state.stack}) on {home.display()}"
    )


def apply(attachment: Attachment, environ: dict[str, str] | os._Environ[str] = os.environ) -> None:
    """Set the attachment in this process: a lent environment replaces docpipe's own variables."""
    if attachment.source is not None:
        owned = [k for k in environ if k.startswith(("DOCPIPE_", "TEMPORAL_")) and k != "DOCPIPE_HOME"]
        for name in owned:
            del environ[name]
    environ.update(attachment.env)
