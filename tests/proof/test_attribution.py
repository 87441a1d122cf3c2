"""The attribution rules on their own: which activity a photo belongs to, and which photos a later text moves."""

from __future__ import annotations

from datetime import timedelta

from bot.proof.attribution import Basis, Decision, Naming, Photo, for_photo, is_caption, points_forward, refiled
from tests.proof.conftest import at

ONE, TWO = "qiaomen-1", "qiaomen-2"
BOTH = [ONE, TWO]
T0 = at(4, 8, 9)
TITLE_TWO = "开展“敲门行动”入户宣传（第二轮：平溪村、山坝村及金溪社区）"


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def test_the_only_open_activity_wins_whatever_was_said() -> None:
    said = [Naming(T0, TWO)]
    assert for_photo([ONE], T0, caption=TWO, namings=said, memory=TWO) == Decision(ONE, Basis.ONLY)


def test_caption_then_a_naming_before_then_the_memory_then_ask() -> None:
    said = [Naming(T0, ONE), Naming(T0 + minutes(1), TWO)]
    later = T0 + minutes(2)
    assert for_photo(BOTH, later, caption=ONE, namings=said, memory=TWO) == Decision(ONE, Basis.CAPTION)
    # The latest naming, which beats the memory.
    assert for_photo(BOTH, later, caption=None, namings=said, memory=ONE) == Decision(TWO, Basis.NAMED, said[1].at)
    # A naming applies for a short while only, and never to photos sent before it.
    stale = T0 + minutes(31)
    assert for_photo(BOTH, stale, caption=None, namings=said[:1], memory=TWO) == Decision(TWO, Basis.MEMORY)
    assert for_photo(BOTH, T0 - minutes(1), caption=None, namings=said, memory=None) == Decision(None, None)
    # A naming of an activity not open for the unit doesn't count.
    assert for_photo(BOTH, later, caption=None, namings=[Naming(T0, "other")], memory=None) == Decision(None, None)


def test_a_text_moves_waiting_photos_and_those_that_only_followed_the_memory() -> None:
    photos = [
        Photo(1, T0, None, None),  # waiting for an answer
        Photo(2, T0 + minutes(1), ONE, Basis.MEMORY),
        Photo(3, T0 + minutes(1), ONE, Basis.CAPTION),
        Photo(4, T0 + minutes(1), ONE, Basis.ONLY),
        Photo(5, T0 + minutes(1), ONE, Basis.AFTER),
        Photo(6, T0 + minutes(1), TWO, Basis.MEMORY),  # already there
        Photo(7, T0 + minutes(9), None, None),  # sent after the text
    ]
    assert refiled(Naming(T0 + minutes(5), TWO), photos) == [1, 2]
    # The memory loses only for a while.
    assert refiled(Naming(T0 + minutes(40), TWO), photos[1:2]) == []


def test_a_photo_filed_by_an_earlier_naming_moves_only_when_the_text_came_right_after_it() -> None:
    named = T0
    near = Photo(1, T0 + minutes(5), ONE, Basis.NAMED, named)  # 5 minutes after the naming
    early = Photo(2, T0 + minutes(1), ONE, Basis.NAMED, named)  # 1 minute after it
    text = Naming(T0 + minutes(6), TWO)
    assert refiled(text, [near, early]) == [1]  # the photo nearer this text than the naming before it
    assert refiled(Naming(T0 + minutes(8), TWO), [near]) == []  # too long after the photo to be its caption


def test_a_text_pointing_forward_moves_nothing() -> None:
    assert points_forward("下面是第一轮的") and points_forward("接下来发第二轮")
    assert not points_forward("这张是第二轮的")
    photos = [Photo(1, T0, None, None), Photo(2, T0, ONE, Basis.MEMORY)]
    assert refiled(Naming(T0 + minutes(1), TWO, forward=True), photos) == []


def test_a_caption_only_names_the_activity_a_note_tells_more() -> None:
    for caption in ("第二轮敲门行动的照片", "这张是第二轮的", "4月第二轮", "qiaomen-2 照片", "第二轮的材料"):
        assert is_caption(caption, TITLE_TWO, TWO), caption
    for note in ("第二轮入户42户，签字表见照片", "第二轮照片：村干部分三组入户，老人不在家的下午补上"):
        assert not is_caption(note, TITLE_TWO, TWO), note
