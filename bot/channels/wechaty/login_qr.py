"""The login QR code, shown where an operator can scan it: on the terminal and as a PNG next to the data."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TextIO

log = logging.getLogger(__name__)


def show_login_qr(qrcode: str, png: Path | None, echo: TextIO | None) -> Path | None:
    """Draw `qrcode` on `echo` and save it as `png`. Returns the PNG's path, None when not saved (never raises
    for a folder it can't write: the terminal copy still lets someone log in)."""
    import qrcode as qr  # only when a login is needed: the daemon doesn't pay for it at start-up

    code = qr.QRCode(border=1)
    code.add_data(qrcode)
    saved: Path | None = None
    if png is not None:
        try:
            png.parent.mkdir(parents=True, exist_ok=True)
            code.make_image().save(str(png))
            saved = png
        except OSError as exc:
            log.error("登录二维码没能保存：%s", exc)
    if echo is not None:
        print("请用机器人的微信扫描下面的二维码登录：", file=echo)
        code.print_ascii(out=echo, invert=True)
        if saved is not None:
            print(f"（二维码图片也保存在 {saved}）", file=echo)
    return saved
