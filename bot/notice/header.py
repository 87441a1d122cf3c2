"""What the notice says about itself: the plan's year and title, its document number (文号) and date."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from bot.notice.document import Notice

_DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,12}[〔\[［【(（](\d{4})[〕\]］】)）]\s*\d{1,4}\s*号")
_ATTACHMENT = re.compile(r"^附件\s*\d*\s*[:：]\s*(\S.*?(?:表|计划|安排))\s*$")
_YEAR = re.compile(r"(\d{4})\s*年")
_FULL_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")


@dataclass(frozen=True)
class NoticeHeader:
    title: str  # the plan table's title: 2024年金溪镇生活垃圾分类宣传活动月度计划表
    doc_number: str  # 金溪府发〔2024〕51号
    issued: date | None
    title_year: int | None
    number_year: int | None

    @property
    def year(self) -> int | None:
        """The plan's year as the notice says it: the table title's, else the document number's, else the date's."""
        return self.title_year or self.number_year or (self.issued.year if self.issued else None)


def read_header(notice: Notice) -> NoticeHeader:
    title = ""
    for line in notice.body:
        if m := _ATTACHMENT.match(line):
            title = m[1]
            break
    if not title and notice.heading:
        title = "".join(notice.heading)
    number = next((m for line in notice.body if (m := _DOC_NUMBER.search(line))), None)
    issued = None
    for line in notice.body:
        # The date stands alone under the signature, or on the 印发 line: not a date inside the text.
        if (m := _FULL_DATE.search(line)) and (len(line) <= 40 or "印发" in line):
            try:
                issued = date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                continue
            break
    ty = _YEAR.search(title)
    return NoticeHeader(
        title=title,
        doc_number=number[0].replace(" ", "") if number else "",
        issued=issued,
        title_year=int(ty[1]) if ty else None,
        number_year=int(number[1]) if number else None,
    )
