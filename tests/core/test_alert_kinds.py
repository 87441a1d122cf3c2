"""The alert kinds: each a template `laba check` requires, and an alert must pass exactly its kind's variables."""

from __future__ import annotations

import pytest

from bot.core.alert_kinds import ALERT_KINDS, BY_TEMPLATE, FAILED, PLAN_ERROR
from bot.core.render import REQUIRED_TEMPLATES


def test_every_kind_has_a_required_template_of_its_own() -> None:
    templates = [kind.template for kind in ALERT_KINDS]
    assert len(set(templates)) == len(templates)
    assert set(templates) <= set(REQUIRED_TEMPLATES)
    assert {name for name in REQUIRED_TEMPLATES if name.startswith("alert_")} == set(templates)
    assert all(BY_TEMPLATE[kind.template] is kind for kind in ALERT_KINDS)


def test_an_alert_carries_its_kind_key_and_variables() -> None:
    alert = PLAN_ERROR("alert/plan_error/x", problems=["第 3 行：日期不对"])
    assert (alert.kind, alert.key, dict(alert.variables)) == (
        PLAN_ERROR,
        "alert/plan_error/x",
        {"problems": ["第 3 行：日期不对"]},
    )


def test_an_alert_with_other_variables_than_its_kind_is_refused() -> None:
    with pytest.raises(
        ValueError, match=r"alert_failed .*\['attempts', 'error', 'label', 'target'\], got: \['error'\]"
    ):
        FAILED("alert/x", error="示例")
    with pytest.raises(ValueError, match="alert_plan_error"):
        PLAN_ERROR("alert/x", problems=[], extra=1)
