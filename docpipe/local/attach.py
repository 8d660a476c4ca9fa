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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docpipe.local.home import Home
    from docpipe.local.state import DevState

# What names a Temporal connection for temporalio's envconfig (and the `temporal` CLI).
CONNECTION_VARS = ("TEMPORAL_ADDRESS", "TEMPORAL_PROFILE", "TEMPORAL_CONFIG_FILE")


@dataclass(frozen=True)
class Attachment:
    """The variables to set, and a line saying where they came from (None: nothing was attached)."""

    env: dict[str, str]
    source: str | None


def explicit_connection(env: Mapping[str, str]) -> bool:
    return any(env.get(name) for name in CONNECTION_VARS)


class AttachError(ValueError):
    """Several `docpipe dev` runs could be meant; the message names them and the flag to choose."""


def running_dev(stack: str | None = None) -> tuple[Home, DevState] | None:
    """The live `docpipe dev` of this checkout: of `stack` when given, else the only one running."""
    from docpipe.local.home import resolve_home, stack_homes
    from docpipe.local.state import read_state

    if stack is not None:
        home = resolve_home(stack)
        state = read_state(home)
        return (home, state) if state is not None else None
    live = [(h, s) for h in stack_homes().values() if (s := read_state(h)) is not None]
    if len(live) > 1:
        names = ", ".join(f"{s.stack} (pid {s.pid})" for _, s in live)
        raise AttachError(f"several docpipe dev runs: {names}; name one with --stack")
    return live[0] if live else None


def attach(
    role: str,
    *,
    address: str | None = None,
    profile: str | None = None,
    stack: str | None = None,
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
    found = running_dev(stack)
    if found is None or not found[1].role_envs:
        return Attachment({}, None)
    home, state = found
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
