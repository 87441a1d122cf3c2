"""Is a message in a villagers' group a sorting question, and about which items? Pure; no dictionary needed.

Recognised: "XX是什么垃圾", "XX属于哪类", "XX怎么扔" and their everyday variants (是啥垃圾、算哪一类、该扔哪个桶、
怎么分类 …), and anything said to the bot with an @ ("@大喇叭 XX"). Several items may be named together
("电池和塑料袋分别是什么垃圾"): they come back in the order asked, without repeats.
"""

from __future__ import annotations

import re
from typing import Final

BOT_NAME: Final = "大喇叭"
MAX_ITEMS: Final = 5  # more than this in one message is not a question but a list: answer the first five
MAX_ITEM_CHARS: Final = 20

_POLITE: Final = re.compile(
    r"^(?:请问一下|请问|问一下|问下|想问一下|想问|大家好|你好|您好|那么|那|还有|咨询一下|麻烦问下)[，,。\s]*"
)
_ASK: Final = re.compile(
    r"^(?P<items>.+?)\s*(?:分别|到底|究竟|都|各|应该|应当|该|要)?\s*(?:"
    r"(?:是|属于|算|算是|归|属)\s*(?:什么|啥|哪|哪个|哪一|哪种|哪些)\s*(?:类|种|样)?\s*(?:的)?\s*垃圾"
    r"|(?:属于|是|算|归|分)\s*(?:哪|哪个|哪一|什么|啥)\s*(?:类|种)"
    r"|怎么\s*(?:扔|丢|分类|分|处理|投放|放)"
    r"|(?:扔|丢|放|投)\s*(?:到)?\s*(?:哪|哪里|哪儿|哪个桶|什么桶|哪个垃圾桶|哪一个桶)"
    r")\s*(?:啊|呀|呢|哦|嘛|吗|了)?\s*[?？!！。.～~]*\s*$"
)
_SPLIT: Final = re.compile(r"\s*(?:和|跟|与|及|以及|还有|或者|或|、|，|,|/|；|;|\s)\s*")
_MENTION: Final = re.compile(r"^(\s*@[^\s\u2005]+[\s\u2005]+)+")
_TAIL: Final = re.compile(r"[?？!！。.～~\s]+$")
# Pointing at a photo, not naming a thing: nothing to look up.
_POINTERS: Final = frozenset({"这", "那", "它", "这个", "那个", "这些", "那些", "这种", "那种", "这东西", "这玩意"})


def strip_mentions(text: str) -> tuple[str, bool]:
    """The text without leading @-s, and whether there were any."""
    stripped = _MENTION.sub("", text)
    return stripped, stripped != text


def items_asked(text: str, *, to_bot: bool = False) -> tuple[str, ...]:
    """The items a message asks about, as typed; () when it is not a sorting question. `to_bot`: the message
    @-s the bot (as the network tells), so a bare "XX" is a question too."""
    body, _ = strip_mentions(text)
    # The network says whether the bot was @-ed; without it, only "@大喇叭" by name counts (an @ of a neighbour
    # followed by a word is talk between villagers).
    to_bot = to_bot or text.lstrip().startswith(f"@{BOT_NAME}")
    body = _POLITE.sub("", body.strip())
    m = _ASK.match(body)
    if m is not None:
        words = m.group("items")
    elif to_bot:
        words = _TAIL.sub("", body)
    else:
        return ()
    words = re.sub(r"^(?:这个|那个|这些|那些)(?=.)", "", words.strip())
    out: list[str] = []
    for part in _SPLIT.split(words):
        part = part.strip()
        if part and part not in _POINTERS and len(part) <= MAX_ITEM_CHARS and part not in out:
            out.append(part)
    return tuple(out[:MAX_ITEMS])
