"""Photo verification: what is decoded, what is refused and why, EXIF times, perceptual hashes."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from bot.clock import TOWN_ZONE
from bot.proof.images import Limits, NotAnImage, TooLarge, hamming, thumbnail, verify
from tests.proof.conftest import photo, png_bomb, resized
from tests.proof.hostile import claims_bigger, encoded, gradient, with_exif_time


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


def _modes(seed: int) -> dict[str, bytes]:
    """The same photo as a GIF, as palette, 1-bit, 16-bit grey and grey-with-alpha PNGs, and as a CMYK JPEG."""
    with Image.open(io.BytesIO(photo(seed, size=(640, 480)))) as src:
        src.load()
    sixteen = src.convert("L").point(lambda v: v * 257, "I").convert("I;16")
    return {
        "GIF": encoded(src.quantize(64), "GIF"),
        "P": encoded(src.quantize(64), "PNG"),
        "1": encoded(src.convert("1"), "PNG"),
        "I;16": encoded(sixteen, "PNG"),
        "LA": encoded(src.convert("LA"), "PNG"),
        "CMYK": encoded(src.convert("CMYK"), "JPEG", quality=90),  # Adobe's inverted inks
        "L": encoded(src.convert("L"), "PNG"),
    }


@pytest.mark.parametrize("mode", ["GIF", "P", "1", "I;16", "LA", "CMYK"])
def test_gif_palette_1_bit_and_16_bit_images_are_verified_and_hashed_like_the_photo(mode: str) -> None:
    variants = _modes(11)
    with Image.open(io.BytesIO(variants["I;16"])) as sixteen:
        high = sixteen.getextrema()[1]
        # really 16-bit: Pillow's own conversion to 8 bits would clip it white
        assert isinstance(high, int) and high > 255
    image = verify(variants[mode], Limits(), TOWN_ZONE)
    grey = verify(variants["L"], Limits(), TOWN_ZONE)
    assert (image.width, image.height) == (640, 480)
    assert hamming(image.phash, grey.phash) <= 4  # the same picture
    other = verify(_modes(12)[mode], Limits(), TOWN_ZONE)
    assert hamming(image.phash, other.phash) > 12


@pytest.mark.parametrize(
    ("taken", "offset"),
    [
        ("0001:01:01 00:00:00", "+08:00"),  # before year 1 in UTC
        ("0001:01:01 03:00:00", None),  # local time: the town is east of Greenwich
        ("9999:12:31 23:59:59", "-05:00"),  # after year 9999 in UTC
        ("9999:12:31 20:00:00", "-12:00"),
    ],
)
def test_exif_times_that_are_no_instant_are_unknown(taken: str, offset: str | None) -> None:
    image = verify(with_exif_time(taken, offset), Limits(), TOWN_ZONE)
    assert image.exif_at is None and image.width == 400


@pytest.mark.parametrize("offset", ["+99:00", "-24:00", "+08:75", "08:00:", "+0８:00", "\x00\x00\x00\x00\x00\x00"])
def test_an_odd_exif_offset_is_unknown_and_the_time_is_local(offset: str) -> None:
    image = verify(with_exif_time("2024:05:21 09:30:00", offset), Limits(), TOWN_ZONE)
    assert image.exif_at == datetime(2024, 5, 21, 9, 30, tzinfo=TOWN_ZONE)


def test_a_jpeg_whose_header_claims_more_than_its_data_holds_is_refused_as_damaged() -> None:
    data = claims_bigger(7999, 7999)
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (7999, 7999)
    with pytest.raises(NotAnImage) as info:
        verify(data, Limits(), TOWN_ZONE)
    assert info.value.reason == "图片文件不完整或已损坏，请重新发送"


@pytest.mark.parametrize("cut", [0.9, 0.5, 0.05])
def test_a_jpeg_cut_short_anywhere_is_refused_as_damaged(cut: float) -> None:
    data = photo(3, size=(1600, 1200))
    with pytest.raises(NotAnImage) as info:
        verify(data[: int(len(data) * cut)], Limits(), TOWN_ZONE)
    assert "不完整或已损坏" in info.value.reason


def test_an_image_too_big_to_decode_within_the_budget_is_refused_from_its_header() -> None:
    # The case: a PNG of a few hundred KB just under the pixel limit (+490 MB to decode whole).
    side = int(Limits().max_pixels ** 0.5) - 1
    png = encoded(Image.new("RGB", (side, side), (30, 90, 20)), "PNG")
    assert len(png) < 300_000
    with pytest.raises(TooLarge) as info:
        verify(png, Limits(), TOWN_ZONE)
    assert info.value.reason == f"图片尺寸太大（{side}×{side} 的 png 图），请缩小后再发，或发手机拍的 jpg 照片"


def test_a_progressive_jpeg_is_costed_by_its_coefficients_a_baseline_one_by_its_reduced_output() -> None:
    limits = Limits(max_decode_bytes=20 * 1024 * 1024)
    picture = gradient((4000, 3000))
    baseline = verify(encoded(picture, "JPEG"), limits, TOWN_ZONE)  # decoded at 1/8: 0.6 MB
    assert (baseline.width, baseline.height) == (4000, 3000)
    with pytest.raises(TooLarge):  # every coefficient kept: 2 bytes × 1.5 samples × 12 million pixels
        verify(encoded(picture, "JPEG", progressive=True), limits, TOWN_ZONE)
    assert verify(encoded(picture, "JPEG", progressive=True), Limits(), TOWN_ZONE).phash == baseline.phash


def test_the_size_the_network_announced_for_a_file_it_did_not_fetch_is_checked() -> None:
    with pytest.raises(TooLarge) as info:
        verify(b"", Limits(), TOWN_ZONE, announced_size=40 * 1024 * 1024)
    assert info.value.reason == "文件太大（40.0 MB，最多 25.0 MB）"
