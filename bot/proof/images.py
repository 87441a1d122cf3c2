"""Photo verification: decode with Pillow under size and pixel limits, read the EXIF time, hash; thumbnails.

Pure (bytes in, values out): no files, no database. Anything that is not an image Pillow can decode within the
limits raises `NotAnImage` or `TooLarge` with a reason a person can read.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from PIL import Image

# The formats a phone or WeChat produces; anything else (PDF, TIFF scans, PSD …) is refused rather than guessed at.
EXTENSIONS: Final = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "MPO": "jpg"}
THUMB_SIZE: Final = (320, 320)
_EXIF_IFD: Final = 0x8769
_DATETIME_ORIGINAL: Final = 36867
_OFFSET_TIME_ORIGINAL: Final = 36881
_DATETIME: Final = 306
_ORIENTATION: Final = 0x0112


@dataclass(frozen=True)
class Limits:
    """What intake accepts. Checked before decoding: the byte size first, then the pixel count from the header,
    so a decompression bomb (a small file that declares a huge image) is refused without being decoded."""

    max_bytes: int = 25 * 1024 * 1024
    max_pixels: int = 64_000_000

    def __post_init__(self) -> None:
        if self.max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got: {self.max_bytes}")
        if self.max_pixels <= 0:
            raise ValueError(f"max_pixels must be positive, got: {self.max_pixels}")


class ImageRefused(Exception):
    """The bytes were not accepted as a photo; `reason` is said to the sender."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotAnImage(ImageRefused):
    pass


class TooLarge(ImageRefused):
    pass


@dataclass(frozen=True)
class VerifiedImage:
    sha256: str
    size: int
    format: str
    extension: str
    width: int
    height: int
    phash: str  # 64-bit perceptual hash as 16 hex digits
    exif_at: datetime | None


# The smallest side the decode for hashing may shrink to (JPEG decodes at 1/2, 1/4 or 1/8 scale).
HASH_SOURCE = 128


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify(data: bytes, limits: Limits, zone: tzinfo) -> VerifiedImage:
    """Decode `data` fully (at reduced scale where the format allows it) and describe it.

    Raises `TooLarge` over `limits`, `NotAnImage` if Pillow can't decode all of it or the format isn't a photo's.
    EXIF times without an offset are taken to be in `zone` (cameras keep local time)."""
    # Pillow and imagehash (with numpy) are loaded when the first photo comes, not when the daemon starts.
    import imagehash
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > limits.max_bytes:
        raise TooLarge(f"文件太大（{_mb(len(data))}，最多 {_mb(limits.max_bytes)}）")
    if not data:
        raise NotAnImage("文件是空的")
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check warns (or raises) at open; either way it is our refusal, not a crash.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                if width * height > limits.max_pixels:
                    raise TooLarge(f"图片像素太多（{width}×{height}），请发普通照片")
                fmt = im.format or ""
                if fmt not in EXTENSIONS:
                    raise NotAnImage(f"不支持的图片格式（{fmt or '未知'}），请发 jpg 或 png 照片")
                exif = _exif(im)
                exif_at = _exif_time(exif, zone)
                # Draft mode lets JPEG decode at a reduced DCT scale: every byte is still decoded (a truncated or
                # corrupt file fails in load()), at a fraction of the cost of a full-size decode. No thumbnail is
                # made here: only the hash needs pixels, and few (the reports make their thumbnails when needed).
                im.draft(None, (HASH_SOURCE, HASH_SOURCE))
                im.load()
                # Hash the picture the right way up, so a copy saved already rotated still matches; most photos
                # carry no rotation, and then there is nothing to copy.
                rotated = exif is not None and exif.get(_ORIENTATION, 1) not in (0, 1)
                thumb = ImageOps.exif_transpose(im) if rotated else im
                # pHash shrinks to 32×32 anyway: a box-reduced copy of ≥64 px gives the same bits at a tenth the cost.
                phash = str(imagehash.phash(thumb.reduce(max(1, min(thumb.size) // 64))))
    except ImageRefused:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise TooLarge("图片像素太多，请发普通照片") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise NotAnImage("不是能打开的图片" + ("（文件不完整或已损坏）" if fmt_known(data) else "")) from exc
    return VerifiedImage(
        sha256=sha256_of(data),
        size=len(data),
        format=fmt,
        extension=EXTENSIONS[fmt],
        width=width,
        height=height,
        phash=phash,
        exif_at=exif_at,
    )


def thumbnail(data: bytes) -> bytes:
    """A JPEG of at most THUMB_SIZE, the right way up (EXIF orientation), of a photo `verify` accepted.

    Made when a report first needs it, not at intake: intake only keeps what it can't recompute."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as im:
        im.thumbnail(THUMB_SIZE)
        small = ImageOps.exif_transpose(im).convert("RGB")
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80)
    return out.getvalue()


def fmt_known(data: bytes) -> bool:
    """Whether the bytes start like a JPEG or PNG (to tell a damaged photo from something else)."""
    return data.startswith((b"\xff\xd8", b"\x89PNG"))


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _exif(im: Image.Image) -> Image.Exif | None:
    try:
        return im.getexif()
    except Exception:  # a broken EXIF block is common and never a reason to refuse the photo
        return None


def _exif_time(exif: Image.Exif | None, zone: tzinfo) -> datetime | None:
    if exif is None:
        return None
    try:
        sub = exif.get_ifd(_EXIF_IFD)
        raw = sub.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
        offset = sub.get(_OFFSET_TIME_ORIGINAL)
    except Exception:  # a broken EXIF block is common and never a reason to refuse the photo
        return None
    if not isinstance(raw, str):
        return None
    try:
        naive = datetime.strptime(raw.strip().rstrip("\x00"), "%Y:%m:%d %H:%M:%S")  # noqa: DTZ007 (zone added below)
    except ValueError:
        return None
    return naive.replace(tzinfo=_offset(offset) or zone)


def _offset(value: object) -> tzinfo | None:
    if not isinstance(value, str) or len(value.strip()) != 6:
        return None
    text = value.strip()
    try:
        sign = -1 if text[0] == "-" else 1
        hours, minutes = int(text[1:3]), int(text[4:6])
    except ValueError:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"
