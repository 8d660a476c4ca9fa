"""Policy config models: the CLI's schema is generated from them; checks read config through them."""

from __future__ import annotations

import pytest
from pydantic import Field

from policies.common import PolicyConfig, config_schema
from policies.pack import POLICIES
from policies.runner import StackResource, evaluate

OPEN_GROUP = StackResource(
    "aws:ec2/securityGroup:SecurityGroup",
    "web",
    {"ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}]},
)


class _NoDefault(PolicyConfig):
    limit: float = Field(description="A limit.")


class _NoDescription(PolicyConfig):
    limit: float = 2


class _Limits(PolicyConfig):
    max_hop_limit: float = Field(default=2, description="Highest hop limit.")
    allowed_names: list[str] = Field(default=[], description="Names accepted anyway.")


def test_schema_is_camel_case_with_defaults_and_descriptions_and_no_titles() -> None:
    assert config_schema(_Limits).properties == {
        "maxHopLimit": {"type": "number", "default": 2, "description": "Highest hop limit."},
        "allowedNames": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Names accepted anyway.",
        },
    }
    assert config_schema(_Limits).required is None


@pytest.mark.parametrize(
    ("model", "message"), [(_NoDefault, "need a default"), (_NoDescription, "needs a description")]
)
def test_a_property_needs_a_default_and_a_description(model: type[PolicyConfig], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config_schema(model)


def test_config_override_reaches_the_check_through_the_model() -> None:
    assert [v.policy for v in evaluate(POLICIES, [OPEN_GROUP]).verdicts] == ["no-open-ingress"]
    allowed = evaluate(POLICIES, [OPEN_GROUP], {"no-open-ingress": {"allowedPorts": [443]}})
    assert allowed.verdicts == []


def test_a_wrongly_typed_value_names_the_policy_and_the_property() -> None:
    with pytest.raises(ValueError, match=r"policy no-open-ingress: invalid config: allowedPorts: .*list"):
        evaluate(POLICIES, [OPEN_GROUP], {"no-open-ingress": {"allowedPorts": 443}})
