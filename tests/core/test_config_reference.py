"""docs/config-reference.md is generated from the config models and must match them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "config_reference.py"


def _generator() -> ModuleType:
    name = "config_reference"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_committed_reference_matches_the_models() -> None:
    generator = _generator()
    expected, _ = generator.current()
    committed = generator.OUTPUT.read_text(encoding="utf-8") if generator.OUTPUT.exists() else ""
    assert committed == expected, (
        "docs/config-reference.md is stale (a config model changed); regenerate it with: "
        ".venv/bin/python scripts/config_reference.py"
    )


def test_reference_lines_fit_100_characters() -> None:
    text, _ = _generator().current()
    long = [line for line in text.splitlines() if len(line) > 100]
    assert long == []


def test_reference_lists_every_secret_with_its_command() -> None:
    from docpipe.config import SECRET_NAMES

    text, _ = _generator().current()
    for name in SECRET_NAMES:
        assert f"pulumi config set --secret docpipe:{name} <value>" in text


class _M(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class _Sizing(_M):
    """How big one role's worker is.

    Only the chosen target's sizing is used.
    """

    memory_mb: Annotated[int, Field(ge=128, le=10240, description="Memory of one worker.")] = 512
    arch: Literal["arm64", "x86_64"] = "arm64"


class _Roles(_M):
    workflow: _Sizing = _Sizing()
    extraction: _Sizing = _Sizing()


class _Optional(_M):
    project: str = Field(pattern=r"^[a-z]+$")


class _Root(_M):
    """Root."""

    mode: Literal["only"] = "only"
    rate: Annotated[float, Field(gt=0, lt=1)] = 0.5
    timeout_seconds: Annotated[int | None, Field(ge=1)] = None
    roles: _Roles = _Roles()
    extra: _Optional | None = None
    prices: dict[str, float] = Field(default_factory=dict, description="Overrides by key.")


def test_generator_renders_each_schema_form() -> None:
    text, undocumented = _generator().render(_Root.model_json_schema(by_alias=True), ["fooKey"])
    lines = text.splitlines()
    assert "- `mode` — string; always `only`; default `only`." in lines
    assert "- `rate` — number; 0 < x < 1; default `0.5`." in lines
    assert "- `timeoutSeconds` — integer or unset; x ≥ 1; default unset." in lines
    # Identical per-role entries collapse into one `<role>` group, with the roles named.
    assert "### `roles.<role>`" in lines
    start = lines.index("`<role>` is each of `workflow`, `extraction`. How big one role's worker is.")
    assert lines[start + 1 : start + 3] == ["", "Only the chosen target's sizing is used."]
    memory = "- `roles.<role>.memoryMb` — integer; 128 ≤ x ≤ 10240; default `512`. Memory of one worker."
    assert memory in lines
    assert "- `roles.<role>.arch` — string; one of `arm64`, `x86_64`; default `arm64`." in lines
    assert "- `extra.project` — string; matching `^[a-z]+$`; required when `extra` is set." in lines
    assert "- `prices.<key>` — number. Overrides by key." in lines
    assert "    pulumi config set --secret docpipe:fooKey <value> --stack NAME" in lines
    assert undocumented == [
        "mode",
        "rate",
        "timeoutSeconds",
        "roles.<role>.arch",
        "extra.project",
    ]


def test_check_fails_on_a_stale_file_and_names_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    generator = _generator()
    stale = tmp_path / "docs" / "config-reference.md"
    stale.parent.mkdir()
    stale.write_text("# an old reference\n", encoding="utf-8")
    monkeypatch.setattr(generator, "ROOT", tmp_path)
    monkeypatch.setattr(generator, "OUTPUT", stale)
    assert generator.main(["--check"]) == 1
    assert ".venv/bin/python scripts/config_reference.py" in capsys.readouterr().err
    assert generator.main([]) == 0
    assert generator.main(["--check"]) == 0
