"""The relay queue on both backends: add, digest once, done once (who, when), nothing deleted."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import TOWN_ZONE
from bot.store.base import DeliveryStatus
from bot.store.relay import RelayQueue
from bot.store.sql import open_store

T0 = datetime(2024, 5, 6, 9, tzinfo=TOWN_ZONE)


def test_queue_digest_and_done(store_url: str) -> None:
    store = open_store(store_url, TOWN_ZONE)
    try:
        queue = RelayQueue(store)
        first = queue.add("changchun-villagers", "长春村村民群", "通知", "", "机器人地址无效", T0)
        second = queue.add("changchun-gb", "王强", "[文件] 五月.mp3", "/data/audio/五月.mp3", "钉钉发不了文件", T0)
        assert [i.id for i in queue.take_undigested(T0)] == [first, second]
        assert queue.take_undigested(T0 + timedelta(minutes=1)) == []  # each item in exactly one digest
        third = queue.add("pingxi-work", "平溪村两委工作群", "请交照片", "", "via: relay", T0 + timedelta(hours=1))
        assert [i.id for i in queue.take_undigested(T0 + timedelta(hours=1))] == [third]
        done_at = T0 + timedelta(hours=2)
        assert queue.done([second, second, 99], "冉晓燕", done_at) == ([second], [], [99])
        assert queue.done([second], "别人", done_at + timedelta(hours=1)) == ([], [second], [])
        assert [i.id for i in queue.waiting()] == [first, third]
        item = next(i for i in queue.all() if i.id == second)
        assert (item.done_by, item.done_at, item.file_path) == ("冉晓燕", done_at, "/data/audio/五月.mp3")
        assert item.queued_at == T0 and item.queued_at.tzinfo is not None
    finally:
        store.close()


def test_relayed_is_final_and_never_claimed_again(store_url: str) -> None:
    store = open_store(store_url, TOWN_ZONE)
    try:
        claim = store.claim("2024-05/announce", "taiping-villagers", T0, T0, "runner-a")
        assert claim is not None
        store.mark_relayed(claim, T0, "relay:1")
        record = store.get("2024-05/announce", "taiping-villagers")
        assert record is not None and (record.status, record.detail) == (DeliveryStatus.RELAYED, "relay:1")
        assert store.claim("2024-05/announce", "taiping-villagers", T0, T0, "runner-b") is None
    finally:
        store.close()
