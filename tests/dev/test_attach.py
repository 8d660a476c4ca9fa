"""Which Temporal a client command uses: flags, then TEMPORAL_*, then a running `docpipe dev`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from docpipe.local.attach import apply, attach
from docpipe.local.home import HOME_ENV, Home
from docpipe.local.state import DevState, write_state


@pytest.fixture
def running_dev(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    """A dev.json whose owner is alive (our parent stands in for `docpipe dev`)."""
    home = Home(tmp_path / "home").create()
    monkeypatch.setenv(HOME_ENV, str(home.root))
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_PROFILE", "TEMPORAL_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    envs = {
        "workflow": {"TEMPORAL_CONFIG_FILE": "/x/temporal.toml", "DOCPIPE_QUEUE_PREFIX": "dev"},
        "storage": {"TEMPORAL_CONFIG_FILE": "/x/temporal.toml", "DOCPIPE_DATABASE_URL": "postgresql://"},
    }
    write_state(home, DevState(os.getppid(), "dev", 0.0, "127.0.0.1:1", "", "", None, {}, envs))
    return home


def test_a_running_dev_lends_the_role_its_environment(running_dev: Home):
    found = attach("storage", env={})
    assert found.env["DOCPIPE_DATABASE_URL"] == "postgresql://"
    assert found.source is not None and "stack dev" in found.source
    assert attach("workflow", env={}).env["DOCPIPE_QUEUE_PREFIX"] == "dev"


@pytest.mark.parametrize(
    ("flags", "env", "expected"),
    [
        ({"address": "h:1"}, {}, {"TEMPORAL_ADDRESS": "h:1"}),
        ({"profile": "cloud"}, {}, {"TEMPORAL_PROFILE": "cloud"}),
        ({}, {"TEMPORAL_ADDRESS": "elsewhere:7233"}, {}),
        ({}, {"TEMPORAL_CONFIG_FILE": "/etc/temporal.toml"}, {}),
    ],
)
def test_an_explicit_connection_wins_over_the_running_dev(running_dev: Home, flags, env, expected):
    found = attach("workflow", env=env, **flags)
    assert found.env == expected and found.source is None


def test_a_lent_environment_replaces_the_callers_docpipe_variables(running_dev: Home):
    environ = {"DOCPIPE_QUEUE_PREFIX": "mine", "DOCPIPE_STAGE_TIMEOUTS": "{}", HOME_ENV: "/h", "PATH": "/bin"}
    apply(attach("workflow", env={}), environ)
    assert environ["DOCPIPE_QUEUE_PREFIX"] == "dev" and "DOCPIPE_STAGE_TIMEOUTS" not in environ
    assert environ[HOME_ENV] == "/h" and environ["PATH"] == "/bin"


def test_without_a_running_dev_nothing_is_attached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "empty"))
    assert attach("workflow", env={}).source is None
