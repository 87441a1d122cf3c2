"""The evidence tables on every store backend (SQLite file, PostgreSQL schema): idempotent intake, the counting
rule shared by the ledger, the chase and the summary, bindings, and the change log. Plus the file store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import TOWN_ZONE
from bot.store.evidence import BindingStatus, EvidenceStatus, EvidenceStore, FileStore, Flag, NewEvidence
from bot.store.sql import open_store

T0 = datetime(2024, 4, 8, 10, 0, tzinfo=TOWN_ZONE)


@pytest.fixture
def evidence(store_url: str, tmp_path: Path) -> Iterator[EvidenceStore]:
    store = open_store(store_url, TOWN_ZONE)
    try:
        yield EvidenceStore(store, tmp_path / "evidence")
    finally:
        store.close()


def _photo(message_id: str, unit: str = "changchun", **kw: object) -> NewEvidence:
    values: dict[str, object] = {
        "message_id": message_id,
        "part": 1,
        "kind": "photo",
        "sender": "wxid_li",
        "sender_name": "李德华",
        "received_at": T0,
        "status": EvidenceStatus.ACCEPTED,
        "activity_id": "2024-04",
        "unit_id": unit,
        "sha256": message_id.ljust(64, "0"),
        "phash": "0123456789abcdef",
        "ext": "jpg",
        "size": 1000,
    }
    values.update(kw)
    return NewEvidence(**values)  # type: ignore[arg-type]


def test_adding_is_idempotent_per_message_part(evidence: EvidenceStore) -> None:
    first, fresh = evidence.add(_photo("a"))
    again, fresh_again = evidence.add(_photo("a", unit="shanling"))
    assert fresh and not fresh_again and again == first
    assert first.received_at == T0 and first.received_at.tzinfo is not None
    assert len(evidence.items()) == 1
    assert [e.action for e in evidence.history()] == ["intake"]


def test_the_counting_rule(evidence: EvidenceStore) -> None:
    evidence.add(_photo("a"))
    evidence.add(_photo("b", flags=(Flag.EXIF_OUTSIDE,)))  # flagged for a look, still counts
    evidence.add(_photo("c", flags=(Flag.DUPLICATE,), duplicate_of=1))
    evidence.add(_photo("d", flags=(Flag.NEAR_DUPLICATE,), duplicate_of=1))
    evidence.add(_photo("e", status=EvidenceStatus.REFUSED, sha256=None))
    evidence.add(_photo("f", kind="note", sha256=None))
    evidence.add(_photo("g", unit="shanling"))
    assert evidence.count("2024-04", "changchun") == 2
    assert [i.counts for i in evidence.items()] == [True, True, False, False, False, False, True]
    store = evidence.store
    assert store.units_with_proof("2024-04", 2) == {"changchun"}
    assert store.units_with_proof("2024-04", 1) == {"changchun", "shanling"}
    assert store.units_with_proof("2024-04", 0) == {"changchun", "shanling"}  # at least one photo, always
    evidence.reject(1, actor="冉晓燕", at=T0 + timedelta(hours=1), reason="看不清")
    assert store.units_with_proof("2024-04", 2) == frozenset()
    # A manual record (record_proof) still counts on its own.
    store.record_proof("2024-04", "taiping", T0, "纸质材料")
    assert store.units_with_proof("2024-04", 2) == {"taiping"}


def test_pending_items_are_filed_and_reassigned_with_a_log(evidence: EvidenceStore) -> None:
    item, _ = evidence.add(_photo("a", status=EvidenceStatus.PENDING, activity_id=None))
    assert evidence.pending("wxid_li") == [item]
    filed = evidence.file(item.id, activity_id="2024-04", unit_id="changchun", actor="李德华", at=T0, why="说明")
    assert filed.status is EvidenceStatus.ACCEPTED and evidence.pending("wxid_li") == []
    moved = evidence.reassign(item.id, unit_id="shanling", activity_id=None, actor="冉晓燕", at=T0)
    assert (moved.unit_id, moved.activity_id) == ("shanling", "2024-04")
    log = evidence.history(f"evidence:{item.id}")
    assert [(e.actor, e.action, e.detail) for e in log] == [
        ("李德华", "intake", "photo pending"),
        ("李德华", "file", "说明"),
        ("冉晓燕", "reassign", "changchun/2024-04 → shanling/2024-04"),
    ]
    with pytest.raises(KeyError):
        evidence.reject(999, actor="x", at=T0, reason="")


def test_bindings(evidence: EvidenceStore) -> None:
    b, fresh = evidence.binds.request(
        sender="wxid_w", sender_wechat="wangxm", sender_name="王小明", unit_id="changchun", message_id="m1", at=T0
    )
    assert fresh and b.status is BindingStatus.PENDING
    assert evidence.binds.request(
        sender="wxid_w", sender_wechat="wangxm", sender_name="王小明", unit_id="changchun", message_id="m1", at=T0
    ) == (b, False)
    assert evidence.approved_unit("wxid_w") is None
    decided, changed = evidence.decide_binding(b.id, approve=True, actor="冉晓燕", at=T0 + timedelta(minutes=5))
    assert changed and decided.decided_by == "冉晓燕" and decided.decided_at == T0 + timedelta(minutes=5)
    assert evidence.decide_binding(b.id, approve=False, actor="谭志勇", at=T0)[1] is False
    assert evidence.approved_unit("wxid_w") == "changchun"
    assert evidence.approved_unit("another-id", "wangxm") == "changchun"  # the same WeChat id from another device
    assert evidence.bindings(BindingStatus.PENDING) == []


def test_file_store_never_takes_a_path_from_outside(tmp_path: Path) -> None:
    files = FileStore(tmp_path)
    sha = "ab" + "0" * 62
    assert files.put(sha, "jpg", b"x") == tmp_path / "ab" / f"{sha}.jpg"
    files.put(sha, "jpg", b"x")  # the same content again: nothing changes
    assert files.path(sha, "jpg").read_bytes() == b"x"
    for bad_sha, ext in [("../" + "0" * 61, "jpg"), (sha.upper(), "jpg"), (sha, "../x"), (sha, "j/g")]:
        with pytest.raises(ValueError):
            files.path(bad_sha, ext)
    assert files.thumb(sha) is None
    assert not list(tmp_path.rglob(".tmp-*"))
