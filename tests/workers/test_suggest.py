"""workers.suggest.did_you_mean: the suggestion every "unknown value" error appends."""

from __future__ import annotations

from workers.suggest import did_you_mean


def test_the_closest_choice_is_suggested() -> None:
    roles = ("workflow", "extraction", "analysis")
    assert did_you_mean("extracton", roles) == " (did you mean 'extraction'?)"


def test_nothing_close_and_non_text_values_suggest_nothing() -> None:
    assert did_you_mean("zzz", ["ec2", "cloudrun", "lambda"]) == ""
    assert did_you_mean(3, ["3", "ec2"]) == ""
