"""`confirm`: whether a message left or went to the relay is read from its id alone, never from a note in front of it;
the record keeps the note in front of the id, as it always has."""

from __future__ import annotations

from datetime import datetime

from bot.clock import TOWN_ZONE, VirtualClock
from bot.delivery import confirm
from bot.store.base import DeliveryStatus
from bot.store.memory import MemoryStore

AT = datetime(2024, 5, 20, 9, tzinfo=TOWN_ZONE)
NOTE = "音频制作失败，改发广播稿（edge-tts：HTTP 503）："


def _confirmed(message_id: str, note: str) -> tuple[DeliveryStatus, str]:
    store = MemoryStore(TOWN_ZONE)
    claim = store.claim("2024-05/remind", "changchun-gb", AT, AT, "r")
    assert claim is not None
    status = confirm(store, VirtualClock(AT), claim, message_id, note)
    record = store.get("2024-05/remind", "changchun-gb")
    assert record is not None and record.status is status
    return status, record.detail


def test_a_relay_id_behind_a_note_is_relayed() -> None:
    assert _confirmed("relay:7", NOTE) == (DeliveryStatus.RELAYED, NOTE + "relay:7")


def test_an_id_behind_a_note_is_sent_even_when_the_note_names_the_relay() -> None:
    assert _confirmed("mem-3", "改发广播稿（relay:7）：") == (DeliveryStatus.SENT, "改发广播稿（relay:7）：mem-3")


def test_without_a_note_the_record_is_the_id() -> None:
    assert _confirmed("wecom:jinxi-office", "") == (DeliveryStatus.SENT, "wecom:jinxi-office")
