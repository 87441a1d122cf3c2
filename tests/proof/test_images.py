"""Photo verification: what is decoded, what is refused and why, EXIF times, perceptual hashes."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from bot.clock import TOWN_ZONE
from bot.proof.images import Limits, NotAnImage, TooLarge, hamming, thumbnail, verify
from tests.proof.conftest import photo, png_bomb, resized


def test_a_photo_is_decoded_hashed_and_thumbnailed() -> None:
    data = photo(1, size=(1600, 1200), taken=datetime(2024, 5, 21, 9, 30))  # noqa: DTZ001 (EXIF has no zone)
    image = verify(data, Limits(), TOWN_ZONE)
    assert (image.format, image.extension, image.width, image.height, image.size) == (
        "JPEG",
        "jpg",
        1600,
        1200,
        len(data),
    )
    assert image.exif_at == datetime(2024, 5, 21, 9, 30, tzinfo=TOWN_ZONE)
    assert len(image.sha256) == 64 and len(image.phash) == 16
    with Image.open(io.BytesIO(thumbnail(data))) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) <= 320


def test_png_is_accepted_and_has_no_exif_time() -> None:
    image = verify(photo(2, fmt="PNG"), Limits(), TOWN_ZONE)
    assert image.extension == "png" and image.exif_at is None


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"%PDF-1.4 a scanned form", "不是能打开的图片"),
        ("长春村签字表".encode(), "不是能打开的图片"),
        (b"", "空的"),
    ],
)
def test_non_images_are_refused(data: bytes, words: str) -> None:
    with pytest.raises(NotAnImage) as info:
        verify(data, Limits(), TOWN_ZONE)
    assert words in info.value.reason


def test_a_truncated_photo_is_refused() -> None:
    data = photo(3, size=(800, 600))
    with pytest.raises(NotAnImage) as info:
        verify(data[: len(data) // 2], Limits(), TOWN_ZONE)
    assert "损坏" in info.value.reason


def test_a_file_over_the_byte_limit_is_refused_before_decoding() -> None:
    with pytest.raises(TooLarge) as info:
        verify(b"\xff\xd8" + b"\0" * 2_000_000, Limits(max_bytes=1_000_000), TOWN_ZONE)
    assert "文件太大" in info.value.reason and "1.0 MB" in info.value.reason


@pytest.mark.parametrize("size", [(30000, 30000), (12000, 9000)])
def test_a_decompression_bomb_is_refused_from_its_header(size: tuple[int, int]) -> None:
    bomb = png_bomb(*size)
    assert len(bomb) < 200
    with pytest.raises(TooLarge) as info:
        verify(bomb, Limits(), TOWN_ZONE)
    assert "像素太多" in info.value.reason


def test_pixel_limit_is_configurable() -> None:
    with pytest.raises(TooLarge):
        verify(photo(4, size=(800, 600)), Limits(max_pixels=400_000), TOWN_ZONE)


def test_exif_offset_is_honoured() -> None:
    im = Image.new("RGB", (64, 48), (10, 20, 30))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[36867] = "2024:05:21 09:30:00"
    exif.get_ifd(0x8769)[36881] = "+00:00"
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif)
    image = verify(out.getvalue(), Limits(), TOWN_ZONE)
    assert image.exif_at == datetime(2024, 5, 21, 9, 30, tzinfo=timezone(timedelta(0)))


def test_a_resized_copy_is_near_and_another_scene_is_far() -> None:
    original = verify(photo(5, size=(1200, 900)), Limits(), TOWN_ZONE)
    copy = verify(resized(photo(5, size=(1200, 900))), Limits(), TOWN_ZONE)
    other = verify(photo(6, size=(1200, 900)), Limits(), TOWN_ZONE)
    assert original.sha256 != copy.sha256
    assert hamming(original.phash, copy.phash) <= 6
    assert hamming(original.phash, other.phash) > 12


def test_limits_name_the_bad_value() -> None:
    with pytest.raises(ValueError, match="max_bytes must be positive, got: 0"):
        Limits(max_bytes=0)
