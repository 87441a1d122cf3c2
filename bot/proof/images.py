"""Photo verification: decode with Pillow under size and pixel limits, read the EXIF time, hash; thumbnails.

Pure (bytes in, values out): no files, no database. Anything that is not an image Pillow can decode within the
limits raises `NotAnImage` or `TooLarge` with a reason a person can read.
"""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Final

from bot.channels.base import MAX_ATTACHMENT_BYTES

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

# The formats a phone or WeChat produces; anything else (PDF, TIFF scans, PSD …) is refused rather than guessed at.
EXTENSIONS: Final = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "MPO": "jpg"}
THUMB_SIZE: Final = (320, 320)
_EXIF_IFD: Final = 0x8769
_DATETIME_ORIGINAL: Final = 36867
_OFFSET_TIME_ORIGINAL: Final = 36881
_DATETIME: Final = 306
_ORIENTATION: Final = 0x0112
_WIDEST_OFFSET: Final = timedelta(hours=14)  # Kiribati; the widest west is -12:00


@dataclass(frozen=True)
class Limits:
    """What intake accepts. Checked before decoding: the byte size first, then the pixel count from the header,
    so a decompression bomb (a small file that declares a huge image) is refused without being decoded."""

    max_bytes: int = MAX_ATTACHMENT_BYTES
    max_pixels: int = 64_000_000
    # Memory the decode of one photo may take, estimated from its header (`bot.proof.decode.decode_cost`):
    # with Python and the libraries loaded, intake of any photo within these limits peaks under 200 MB more.
    max_decode_bytes: int = 160 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got: {self.max_bytes}")
        if self.max_pixels <= 0:
            raise ValueError(f"max_pixels must be positive, got: {self.max_pixels}")
        if self.max_decode_bytes <= 0:
            raise ValueError(f"max_decode_bytes must be positive, got: {self.max_decode_bytes}")


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


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify(data: bytes, limits: Limits, zone: tzinfo, announced_size: int | None = None) -> VerifiedImage:
    """Decode `data` (at reduced scale where the format allows it) within `limits.max_decode_bytes` and describe it.

    `announced_size`: the size the network announced for a file it did not fetch (`data` is then empty).
    Raises `TooLarge` over `limits`, `NotAnImage` if the bytes can't be decoded whole or the format isn't a
    photo's; never anything else. EXIF times without an offset are taken to be in `zone` (cameras keep local
    time); EXIF times that are no real instant are unknown (None)."""
    # Pillow, imagehash (with numpy) and the decoders are loaded when the first photo comes, not when the daemon starts.
    import imagehash
    from PIL import Image

    from bot.proof.decode import Truncated, hash_source

    size = max(len(data), announced_size or 0)
    if size > limits.max_bytes:
        raise TooLarge(f"文件太大（{_mb(size)}，最多 {_mb(limits.max_bytes)}）")
    if not data:
        raise NotAnImage("文件是空的")
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check warns (or raises) at open; either way it is our refusal, not a crash.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                fmt = _check_header(im, limits)
                width, height = im.size
                exif = _exif(im)
                exif_at = _exif_time(exif, zone)
                # Only the hash needs pixels, and few: no thumbnail is made here (the reports make theirs).
                orientation = exif.get(_ORIENTATION, 1) if exif is not None else 1
                phash = str(imagehash.phash(hash_source(data, im, orientation)))
    except ImageRefused:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise TooLarge("图片像素太多，请发普通照片") from None
    except Truncated as exc:
        raise NotAnImage("图片文件不完整或已损坏，请重新发送") from exc
    except Exception as exc:  # a decoder meeting hostile bytes raises all sorts: each means "can't be opened"
        log.info("照片打不开：%s：%s", type(exc).__name__, exc)
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


def _check_header(im: Image.Image, limits: Limits) -> str:
    """The format of an opened image whose header is within `limits` (else `TooLarge`/`NotAnImage`)."""
    width, height = im.size
    if width * height > limits.max_pixels:
        raise TooLarge(f"图片像素太多（{width}×{height}），请发普通照片")
    from bot.proof.decode import decode_cost

    fmt = im.format or ""
    if fmt not in EXTENSIONS:
        raise NotAnImage(f"不支持的图片格式（{fmt or '未知'}），请发 jpg 或 png 照片")
    if decode_cost(im) > limits.max_decode_bytes:
        raise TooLarge(f"图片尺寸太大（{width}×{height} 的 {fmt.lower()} 图），请缩小后再发，或发手机拍的 jpg 照片")
    return fmt


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
    taken = naive.replace(tzinfo=_offset(offset) or zone)
    try:
        # Year 1 east of Greenwich or year 9999 west of it is no instant the store (UTC) or the town can hold.
        taken.astimezone(UTC)
        taken.astimezone(zone)
    except (OverflowError, ValueError):
        return None
    return taken


def _offset(value: object) -> tzinfo | None:
    """An EXIF offset ("+08:00"), or None if absent or no offset any clock uses (the time is then local)."""
    if not isinstance(value, str):
        return None
    text = value.strip().rstrip("\x00")
    if len(text) != 6 or text[0] not in "+-" or text[3] != ":" or not (text[1:3] + text[4:6]).isdigit():
        return None
    hours, minutes = int(text[1:3]), int(text[4:6])
    if minutes >= 60 or timedelta(hours=hours, minutes=minutes) > _WIDEST_OFFSET:
        return None
    return timezone((-1 if text[0] == "-" else 1) * timedelta(hours=hours, minutes=minutes))


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"
