"""Which Temporal a client command uses: flags, then TEMPORAL_*, then a running `docpipe dev`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from docpipe.local.attach import AttachError, apply, attach
from docpipe.local.home import HOME_ENV, Home, resolve_home
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


def test_each_stack_has_its_own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(HOME_ENV, raising=False)
    assert resolve_home("prod", tmp_path).root == tmp_path / ".docpipe" / "prod"
    assert resolve_home(project_root=tmp_path).root == tmp_path / ".docpipe" / "dev"


def test_a_single_dir_layout_is_adopted_as_the_dev_stacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(HOME_ENV, raising=False)
    old = tmp_path / ".docpipe"
    (old / "postgres").mkdir(parents=True)
    (old / "postgres" / "PG_VERSION").write_text("16")
    (old / "temporal.toml").write_text("[profile.default]\n")
    home = resolve_home("dev", tmp_path)
    assert (home.postgres_dir / "PG_VERSION").read_text() == "16" and home.temporal_profile.exists()
    assert not (old / "postgres").exists()


def test_a_running_server_keeps_the_single_dir_layout_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv(HOME_ENV, raising=False)
    pg = tmp_path / ".docpipe" / "postgres"
    pg.mkdir(parents=True)
    (pg / "postmaster.pid").write_text(f"{os.getppid()}\n{pg}\n")  # a live pid holds the data dir
    resolve_home("dev", tmp_path)
    assert pg.exists() and not (tmp_path / ".docpipe" / "dev").exists()


def test_two_running_devs_need_a_stack_to_choose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(HOME_ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # no Pulumi.yaml above: the data root is the working directory's
    for stack in ("dev", "prod"):
        home = Home(tmp_path / ".docpipe" / stack).create()
        envs = {"workflow": {"DOCPIPE_QUEUE_PREFIX": stack}}
        write_state(home, DevState(os.getppid(), stack, 0.0, "127.0.0.1:1", "", "", None, {}, envs))
    with pytest.raises(AttachError, match=r"dev \(pid \d+\), prod \(pid \d+\); name one with --stack"):
        attach("workflow", env={})
    assert attach("workflow", stack="prod", env={}).env == {"DOCPIPE_QUEUE_PREFIX": "prod"}
