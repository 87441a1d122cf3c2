"""Reading a notice file, whatever the town received: published text, a .docx, or an old .doc/.wps through
LibreOffice. Each format is a `NoticeReader`; `read_notice` picks one by the file's suffix."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from bot.errors import ConfigError, Problem
from bot.notice.document import Notice
from bot.notice.text import parse_text
from bot.notice.word import read_docx

LIBREOFFICE_PACKAGE = "libreoffice-writer"
CONVERT_TIMEOUT_S = 180


class NoticeReader(Protocol):
    suffixes: tuple[str, ...]

    def read(self, path: Path) -> Notice:
        """Raises ConfigError (Chinese, naming the file) when the file can't be read as this format."""
        ...


class TextReader:
    suffixes: tuple[str, ...] = (".txt", ".text")

    def read(self, path: Path) -> Notice:
        raw = path.read_bytes()
        if b"\x00" in raw[:4096]:
            raise ConfigError([Problem(path, "", path.name, "这不是文本文件", "Word 文件请用 .docx/.doc 后缀导入")])
        # Government sites and Windows Notepad still save GB18030/GBK as often as UTF-8.
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return parse_text(path, raw.decode(encoding))
            except UnicodeDecodeError:
                continue
        raise ConfigError(
            [Problem(path, "", path.name, "读不出文字（既不是 UTF-8 也不是 GBK）", "用记事本另存为 UTF-8")]
        )


class WordReader:
    suffixes: tuple[str, ...] = (".docx",)

    def read(self, path: Path) -> Notice:
        return read_docx(path)


class LibreOfficeReader:
    """Old Word (.doc) and WPS files, converted to .docx by LibreOffice, then read as .docx."""

    suffixes: tuple[str, ...] = (".doc", ".wps", ".rtf", ".odt")

    def __init__(self, soffice: str | None) -> None:
        self._soffice = soffice

    def read(self, path: Path) -> Notice:
        if self._soffice is None:
            raise ConfigError(
                [
                    Problem(
                        path,
                        "",
                        path.suffix,
                        f"读 {path.suffix} 文件要用 LibreOffice 转换，这台机器上没有安装",
                        f"安装 Debian 软件包 {LIBREOFFICE_PACKAGE}（apt-get install {LIBREOFFICE_PACKAGE}），"
                        "或用 Word/WPS 把通知另存为 .docx 再导入",
                    )
                ]
            )
        with tempfile.TemporaryDirectory(prefix="laba-import-") as tmp:
            # Its own profile folder: a clerk's open LibreOffice window must not block the conversion.
            env = {**os.environ, "HOME": tmp}
            done = subprocess.run(
                [self._soffice, "--headless", "--convert-to", "docx", "--outdir", tmp, str(path.resolve())],
                capture_output=True,
                text=True,
                timeout=CONVERT_TIMEOUT_S,
                env=env,
                check=False,
            )
            converted = Path(tmp) / f"{path.stem}.docx"
            if done.returncode != 0 or not converted.exists():
                detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["无输出"]
                raise ConfigError(
                    [Problem(path, "", detail[0], "LibreOffice 没能转换这个文件", "用 Word/WPS 另存为 .docx 再导入")]
                )
            return replace(read_docx(converted), path=path)


def default_readers() -> tuple[NoticeReader, ...]:
    return (TextReader(), WordReader(), LibreOfficeReader(shutil.which("soffice") or shutil.which("libreoffice")))


def read_notice(path: Path, readers: tuple[NoticeReader, ...] | None = None) -> Notice:
    """Read `path` with the reader for its suffix. Raises ConfigError for a missing file or an unknown format."""
    if not path.is_file():
        raise ConfigError([Problem(path, "", str(path), "找不到这个文件", "检查文件名和所在文件夹")])
    for reader in readers or default_readers():
        if path.suffix.lower() in reader.suffixes:
            return reader.read(path)
    raise ConfigError(
        [
            Problem(
                path,
                "",
                path.suffix or path.name,
                "不认识这种文件",
                "导入 Word 文件（.docx、.doc、.wps）或网上复制下来存成的 .txt 文本",
            )
        ]
    )
