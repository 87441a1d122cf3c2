"""The campaign's answers about unit sets: resolved once per campaign, the same as reading the sets each time."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.loader import load_campaign
from bot.core.model import Campaign, Unit

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def jinxi() -> Campaign:
    return load_campaign(ROOT / "schedules" / "jinxi")


def read_sets(campaign: Campaign, ref: str) -> tuple[Unit, ...]:
    """The meaning of a `responsible` entry, straight from units.yaml: a set's kinds and units minus its `except`,
    in units.yaml order; else the unit of that id."""
    for s in campaign.unit_sets:
        if s.id == ref:
            ids = ({u.id for u in campaign.units if u.kind in s.kinds} | set(s.units)) - set(s.except_units)
            return tuple(u for u in campaign.units if u.id in ids)
    return tuple(u for u in campaign.units if u.id == ref)


def test_every_activity_asked_twice_gets_the_units_its_sets_name(jinxi: Campaign) -> None:
    activities = [a for p in jinxi.plans for a in p.activities]
    assert len({a.responsible for a in activities}) > 1  # several different lists, so answers can't be mixed up
    for _ in range(2):  # the second round is answered from what the first resolved
        for act in activities:
            expected: dict[str, Unit] = {}
            for ref in act.responsible:
                expected.update({u.id: u for u in read_sets(jinxi, ref) if u.id not in expected})
            assert jinxi.responsible_units(act) == tuple(expected.values())
    for s in jinxi.unit_sets:
        assert jinxi.members(s.id) == read_sets(jinxi, s.id)


def test_an_unknown_name_is_still_a_key_error_after_answers_were_kept(jinxi: Campaign) -> None:
    jinxi.members(jinxi.unit_sets[0].id)
    with pytest.raises(KeyError):
        jinxi.members("no-such-set")


def test_what_a_campaign_keeps_is_no_part_of_its_value(jinxi: Campaign) -> None:
    fresh = load_campaign(ROOT / "schedules" / "jinxi")
    for act in (a for p in jinxi.plans for a in p.activities):
        jinxi.responsible_units(act)
    assert jinxi == fresh
    assert hash(jinxi) == hash(fresh)
    assert jinxi.model_dump() == fresh.model_dump()
