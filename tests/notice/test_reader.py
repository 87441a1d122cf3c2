from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.notice.reader import LibreOfficeReader, TextReader, read_notice
from tests.notice.notices import seed_text


def test_text_in_gbk_as_government_sites_save_it(tmp_path: Path) -> None:
    path = tmp_path / "通知.txt"
    path.write_bytes(seed_text().encode("gb18030"))
    n = read_notice(path)
    assert n.table is not None and n.table[1][0] == "1月" and n.path == path


def test_binary_with_a_text_suffix(tmp_path: Path) -> None:
    path = tmp_path / "通知.txt"
    path.write_bytes(b"\xd0\xcf\x11\xe0\x00\x00")
    with pytest.raises(ConfigError, match="这不是文本文件"):
        TextReader().read(path)


def test_old_word_without_libreoffice_names_the_debian_package(tmp_path: Path) -> None:
    path = tmp_path / "通知.wps"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(ConfigError) as err:
        read_notice(path, (TextReader(), LibreOfficeReader(None)))
    assert "apt-get install libreoffice-writer" in err.value.problems[0].hint


def test_a_converter_that_fails_is_reported(tmp_path: Path) -> None:
    # A stand-in soffice that fails the way a real one does on a damaged file: exit 1, a line on stderr.
    fake = tmp_path / "soffice"
    fake.write_text("#!/bin/sh\necho 'Error: source file could not be loaded' >&2\nexit 1\n", encoding="utf-8")
    fake.chmod(0o755)
    path = tmp_path / "通知.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(ConfigError) as err:
        LibreOfficeReader(str(fake)).read(path)
    (problem,) = err.value.problems
    assert (
        problem.message == "LibreOffice 没能转换这个文件" and problem.value == "Error: source file could not be loaded"
    )
