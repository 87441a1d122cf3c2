"""Hostile photos, made on the spot: odd modes and formats, odd EXIF, truncated files, and for each way of decoding
the largest picture the memory budget admits."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from PIL import Image

from bot.proof.decode import decode_cost
from bot.proof.images import Limits

EXIF_IFD = 0x8769
DATETIME_ORIGINAL = 36867
OFFSET_TIME_ORIGINAL = 36881


def encoded(im: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **options)
    return out.getvalue()


def with_exif_time(taken: str, offset: str | None = None, size: tuple[int, int] = (400, 300)) -> bytes:
    """A JPEG whose EXIF says it was taken at `taken` ("0001:01:01 00:00:00"), with `offset` ("+99:00") if given."""
    exif = Image.Exif()
    exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = taken
    if offset is not None:
        exif.get_ifd(EXIF_IFD)[OFFSET_TIME_ORIGINAL] = offset
    return encoded(gradient(size), "JPEG", exif=exif)


def gradient(size: tuple[int, int]) -> Image.Image:
    """A picture with structure (so the perceptual hash has something to say), cheap at any size."""
    w, h = size
    horizontal = Image.linear_gradient("L").resize((w, h))
    vertical = Image.linear_gradient("L").rotate(90).resize((w, h))
    return Image.merge("RGB", (horizontal, vertical, Image.new("L", (w, h), 90)))


def claims_bigger(width: int, height: int) -> bytes:
    """A complete little JPEG whose header claims `width`×`height`: all but its first rows are missing."""
    data = encoded(gradient((64, 64)), "JPEG")
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + data[sof + 9 :]


def worst_case(make: Callable[[tuple[int, int]], bytes], limits: Limits, probe_side: int = 512) -> bytes:
    """What `make((side, side))` gives for the largest side whose decode cost, as intake estimates it from the
    header, fits `limits` (the cost is proportional to the pixels: a small probe tells it per pixel)."""
    with Image.open(io.BytesIO(make((probe_side, probe_side)))) as probe:
        per_pixel = decode_cost(probe) / probe_side**2
    side = min(int((limits.max_decode_bytes / per_pixel) ** 0.5), int(limits.max_pixels**0.5))
    while side > probe_side:
        data = make((side, side))
        with Image.open(io.BytesIO(data)) as im:
            if decode_cost(im) <= limits.max_decode_bytes:
                return data
        side -= 8
    raise AssertionError("no size fits the limits")


def palette(size: tuple[int, int]) -> Image.Image:
    """A 256-colour palette picture, made without quantizing (which takes a minute at 64 million pixels)."""
    grey = gradient(size).getchannel(0)
    im = Image.frombytes("P", size, grey.tobytes())
    im.putpalette([c for i in range(256) for c in (i, 255 - i, i // 2)])
    return im


# The largest picture of each way `bot.proof.decode` decodes, the kinds that cost the most per pixel first.
WORST_CASES: dict[str, Any] = {
    "jpeg-baseline": lambda size: encoded(gradient(size), "JPEG", quality=90),
    "jpeg-progressive-444": lambda size: encoded(gradient(size), "JPEG", progressive=True, subsampling=0),
    "png-rgba": lambda size: encoded(gradient(size).convert("RGBA"), "PNG", compress_level=1),
    "png-16bit": lambda size: encoded(gradient(size).getchannel(0).convert("I;16"), "PNG", compress_level=1),
    "gif": lambda size: encoded(palette(size), "GIF"),
    "webp-lossless": lambda size: encoded(gradient(size), "WEBP", lossless=True, method=0),
    "webp": lambda size: encoded(gradient(size), "WEBP", quality=80, method=0),
}
