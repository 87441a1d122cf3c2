"""Which activity a photo is filed under when a unit has two similar activities open (issue 10, H1 of the outsider's
report): April's 敲门行动 in two rounds, both given to every village, driven through the real router, pipeline,
SQLite store and the in-memory channel. Each case is one a village secretary met in the sandbox."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.config.campaign import Sources
from bot.store.evidence import EvidenceStatus
from tests.proof.conftest import Town, at, make_town, message, photo

FIRST = "2024-04-qiaomen-1"
SECOND = "2024-04-qiaomen-2"
FIRST_LABEL = "4月开展“敲门行动”入户宣传（第一轮：长春村、杉岭村、望岭村）"
SECOND_LABEL = "4月开展“敲门行动”入户宣传（第二轮：平溪村、山坝村及金溪社区）"

LI = "lidehua-changchun"  # 长春村
ZHANG = "zhangjun-shanling"  # 杉岭村
LIU = "liuxiuying-wangling"  # 望岭村
XIANG = "xiangmh-jinxi-shequ"  # 金溪社区


def _two_rounds(jinxi: Sources) -> Sources:
    """April's 敲门行动 split into two rounds with long, similar titles, both for every village (as the outsider's
    sandbox gave them)."""
    path = jinxi.schedules / "plan-2024.yaml"
    plan = yaml.safe_load(path.read_text(encoding="utf-8"))
    i = next(n for n, a in enumerate(plan["activities"]) if a["month"] == 4)
    april = plan["activities"][i]
    rounds = [
        dict(april, id=activity_id, title=f"开展“敲门行动”入户宣传（{which}）", responsible=["villages"])
        for activity_id, which in (
            (FIRST, "第一轮：长春村、杉岭村、望岭村"),
            (SECOND, "第二轮：平溪村、山坝村及金溪社区"),
        )
    ]
    plan["activities"][i : i + 1] = rounds
    path.write_text(yaml.safe_dump(plan, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return jinxi


@pytest.fixture
def rounds(jinxi: Sources, tmp_path: Path) -> Iterator[Town]:
    yield from make_town(_two_rounds(jinxi), tmp_path)


def _filed(town: Town, sender: str) -> dict[int, str | None]:
    return {
        e.id: e.activity_id for e in town.intake.evidence.items() if e.sender == f"wxid_{sender}" and e.kind == "photo"
    }


def _answered(town: Town, sender: str, group: str, minute: int) -> None:
    """The sender posts a photo with nothing said, is asked, and answers 第一轮: the "last answer" memory is 第一轮."""
    [asked] = town.say(message(sender, at(4, 8, 9, minute), photos=(photo(minute),), group=group))
    assert "请回一句是哪项活动的" in asked
    [filed] = town.say(message(sender, at(4, 8, 9, minute + 1), text="第一轮", group=group))
    assert filed.startswith("已收到 ") and FIRST_LABEL in filed


def test_a_text_naming_the_other_round_after_a_photo_beats_the_last_answer(rounds: Town) -> None:
    # 石桥村: answered 第一轮, then a photo and the full title of 第二轮 right after it.
    _answered(rounds, LI, "changchun-work", 0)
    replies = rounds.burst(
        message(LI, at(4, 8, 9, 10), photos=(photo(101),), group="changchun-work"),
        message(LI, at(4, 8, 9, 10), text=SECOND_LABEL, group="changchun-work"),
    )
    assert replies == [f"已收到 长春村 {SECOND_LABEL} 照片 1 张（编号 2），累计 1 张，还差 2 张。"]
    assert _filed(rounds, LI) == {1: FIRST, 2: SECOND}


def test_a_caption_after_the_photo_beats_the_last_answer_even_once_acknowledged(rounds: Town) -> None:
    # 青杠村: answered 第一轮 earlier (memory 第一轮), then the secretary means 第二轮 for a photo: the photo
    # follows the memory at first, and her caption after it moves it.
    _answered(rounds, ZHANG, "shanling-work", 0)
    [first] = rounds.say(message(ZHANG, at(4, 8, 9, 20), photos=(photo(102),), group="shanling-work"))
    assert FIRST_LABEL in first  # nothing named yet: the last answer
    [moved] = rounds.say(message(ZHANG, at(4, 8, 9, 21), text="这张是第二轮的", group="shanling-work"))
    assert moved == f"杉岭村 编号 2 的照片已改记到 {SECOND_LABEL}，累计 1 张，还差 2 张。"
    assert _filed(rounds, ZHANG) == {1: FIRST, 2: SECOND}
    assert rounds.intake.evidence.count(FIRST, "shanling") == 1


def test_a_text_before_the_photo_beats_the_last_answer(rounds: Town) -> None:
    # 龙潭村: answered 第二轮 once; later `下面是第一轮的`, then a photo.
    [asked] = rounds.say(message(LIU, at(4, 8, 9), photos=(photo(103),), group="wangling-work"))
    assert "请回一句" in asked
    [filed] = rounds.say(message(LIU, at(4, 8, 9, 1), text="第二轮", group="wangling-work"))
    assert SECOND_LABEL in filed
    assert rounds.say(message(LIU, at(4, 8, 11), text="下面是第一轮的", group="wangling-work")) == []
    [ack] = rounds.say(message(LIU, at(4, 8, 11, 2), photos=(photo(104),), group="wangling-work"))
    assert ack == f"已收到 望岭村 {FIRST_LABEL} 照片 1 张（编号 2），累计 1 张，还差 2 张。"
    # A text pointing forward never moves what came before it.
    assert _filed(rounds, LIU) == {1: SECOND, 2: FIRST}


def test_text_before_the_first_photo_is_used_and_a_later_answer_moves_only_the_photo_it_is_about(rounds: Town) -> None:
    # 双河社区: `第一轮敲门行动`, then a photo: no question.
    assert rounds.say(message(XIANG, at(4, 8, 9), text="第一轮敲门行动", group="jinxi-shequ-work")) == []
    [ack] = rounds.say(message(XIANG, at(4, 8, 9, 1), photos=(photo(105),), group="jinxi-shequ-work"))
    assert ack == f"已收到 金溪社区 {FIRST_LABEL} 照片 1 张（编号 1），累计 1 张，还差 2 张。"
    # Later, photo 2 and `这张是第二轮的` right after it: photo 2 goes to 第二轮, photo 1 stays where it was named.
    replies = rounds.burst(
        message(XIANG, at(4, 8, 9, 10), photos=(photo(106),), group="jinxi-shequ-work"),
        message(XIANG, at(4, 8, 9, 11), text="这张是第二轮的", group="jinxi-shequ-work"),
    )
    assert replies == [f"已收到 金溪社区 {SECOND_LABEL} 照片 1 张（编号 2），累计 1 张，还差 2 张。"]
    assert _filed(rounds, XIANG) == {1: FIRST, 2: SECOND}


def test_an_answer_never_moves_photos_filed_by_their_own_caption(rounds: Town) -> None:
    [ack] = rounds.say(message(LI, at(4, 8, 9), text="第一轮", photos=(photo(107),), group="changchun-work"))
    assert FIRST_LABEL in ack
    [followed] = rounds.say(message(LI, at(4, 8, 15), photos=(photo(108),), group="changchun-work"))
    assert FIRST_LABEL in followed  # the last answer, nothing named: 第一轮
    [moved] = rounds.say(message(LI, at(4, 8, 15, 1), text="第二轮的", group="changchun-work"))
    assert "编号 2" in moved and SECOND_LABEL in moved
    assert _filed(rounds, LI) == {1: FIRST, 2: SECOND}


def test_a_caption_is_not_kept_as_a_note_a_description_is(rounds: Town) -> None:
    # L13: `第二轮敲门行动的照片` names the activity for the photos around it; it is no 文字说明.
    assert rounds.say(message(LI, at(4, 8, 9), text="第二轮敲门行动的照片", group="changchun-work")) == []
    [ack] = rounds.say(message(LI, at(4, 8, 9, 1), photos=(photo(109),), group="changchun-work"))
    assert SECOND_LABEL in ack and "文字说明" not in ack
    [note] = rounds.say(message(LI, at(4, 8, 10), text="第二轮入户42户，签字表见照片", group="changchun-work"))
    assert note == f"已收到 长春村 {SECOND_LABEL} 文字说明（编号 2）。"
    assert [e.kind for e in rounds.intake.evidence.items()] == ["photo", "note"]


# The proof request's example (例如：…。) and the question's (例如“…”。, quotation marks only when the example has
# none of its own).
_REQUEST_EXAMPLE = re.compile(r"例如：(.+?)。")
_QUESTION_EXAMPLE = re.compile(r"例如“?(.+?)”?。")


def test_every_example_the_bot_gives_works_as_a_reply_with_two_similar_activities(rounds: Town) -> None:
    # Each round's proof request suggests how to name it.
    rounds.run_jobs(at(4, 1, 0), at(4, 2, 0))
    # One work arrangement for the month (issue 10 M3), with an example for each round.
    requests = [s.text for s in rounds.channel.sent if s.target.id == "changchun-work" and "发材料时" in s.text]
    examples = [e for t in requests for e in _REQUEST_EXAMPLE.findall(t)]
    assert len(examples) == 2 and len(requests) == 1
    # Fed back as the answer to the bot's question, each files the photo under its own round.
    for minute, (sender, group, example) in enumerate(
        zip((LI, ZHANG), ("changchun-work", "shanling-work"), examples, strict=True)
    ):
        [asked] = rounds.say(message(sender, at(4, 8, 9, minute), photos=(photo(200 + minute),), group=group))
        assert "请回一句是哪项活动的" in asked
        [filed] = rounds.say(message(sender, at(4, 8, 9, minute + 5), text=example, group=group))
        wanted = FIRST_LABEL if "第一轮" in example else SECOND_LABEL
        assert f" {wanted} 照片 1 张" in filed, (example, filed)
    # So does the example in the question itself.
    [asked] = rounds.say(message(LIU, at(4, 9, 9), photos=(photo(300),), group="wangling-work"))
    question = _QUESTION_EXAMPLE.search(asked)
    assert question is not None and question[1] in ("第一轮", "第二轮")  # what a secretary would type
    [filed] = rounds.say(message(LIU, at(4, 9, 9, 1), text=question[1], group="wangling-work"))
    assert "照片 1 张（编号" in filed and ("第一轮" in filed) == ("第一轮" in question[1])


def test_a_text_never_undoes_what_an_admin_decided(rounds: Town) -> None:
    _answered(rounds, LI, "changchun-work", 0)
    [ack] = rounds.say(message(LI, at(4, 8, 9, 20), photos=(photo(110),), group="changchun-work"))
    assert FIRST_LABEL in ack and "编号 2" in ack  # followed the last answer
    [rejected] = rounds.say(message("jinxi-ranxy", at(4, 8, 9, 21), text="#驳回 2 照片看不清"))
    assert "驳回" in rejected
    assert rounds.say(message(LI, at(4, 8, 9, 22), text="这张是第二轮的", group="changchun-work")) == []
    item = rounds.intake.evidence.get(2)
    assert item is not None and item.status is EvidenceStatus.REJECTED and item.activity_id == FIRST
    # An admin's #改派 stands too: the sender's text is not taken for a move of its own (nor answered again).
    [ack] = rounds.say(message(LI, at(4, 8, 9, 53), photos=(photo(111),), group="changchun-work"))
    assert FIRST_LABEL in ack and "编号 3" in ack  # the naming at 9:22 is past; the last answer again
    [moved] = rounds.say(message("jinxi-ranxy", at(4, 8, 9, 54), text="#改派 3 第二轮"))
    assert "第二轮" in moved
    assert rounds.say(message(LI, at(4, 8, 9, 55), text="这张是第二轮的", group="changchun-work")) == []
    assert _filed(rounds, LI) == {1: FIRST, 2: FIRST, 3: SECOND}
