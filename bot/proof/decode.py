"""Decoding a photo for its perceptual hash within a fixed memory budget.

Pure (bytes and Pillow images in, a small 8-bit image out). The cost of a decode is estimated from the header
before any pixel is decoded, so a small file that declares a huge picture is refused without the memory being
spent:

- JPEG (and MPO, a phone's JPEG with a second picture appended) is decoded by libjpeg-turbo at a reduced scale
  (1/2 … 1/8), which costs a fraction of the full picture, except for progressive files: libjpeg keeps every DCT
  coefficient of those (2 bytes per sample) whatever the output scale. libjpeg-turbo is asked to report a file
  that ends early (Pillow silently fills the rest), so a truncated photo is refused rather than kept.
- Every other format (PNG, GIF, WebP, BMP) can only be decoded whole: its cost is the picture as Pillow holds it
  (1 byte a pixel for palette, 1-bit and grey, 2 for 16-bit grey, 4 for colour), times what the decoder needs
  besides (WebP decodes into a buffer of its own, then copies).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import simplejpeg
from PIL import Image

# The smallest side the decode for hashing may shrink to (JPEG decodes at 1/2, 1/4 or 1/8 scale).
HASH_SOURCE: Final = 128
JPEG_FORMATS: Final = ("JPEG", "MPO")

# Bytes a pixel takes in Pillow's memory, by mode; every other mode (RGB included) is held in 4.
_BYTES_PER_PIXEL: Final = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
# What the decoder needs besides the picture, as a multiple of it (measured with tests/proof/test_decode.py).
_DECODER_OVERHEAD: Final = {"WEBP": 4}
# libjpeg's warnings that mean the data ran out before the picture did: the rest would be made up.
_TRUNCATED: Final = ("premature end",)
# EXIF orientation → the transpose that puts the picture the right way up (as `ImageOps.exif_transpose`).
_UPRIGHT: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class Truncated(ValueError):
    """The file ends before the picture its header declares."""


def decode_cost(im: Image.Image) -> int:
    """Bytes the decode for hashing will allocate, estimated from the header of an opened, not yet loaded image."""
    width, height = im.size
    pixels = width * height
    if im.format in JPEG_FORMATS:
        scale = max(1, min(8, min(width, height) // HASH_SOURCE))
        cost = pixels * 3 // (scale * scale)  # the RGB output at the reduced scale
        if im.info.get("progressive"):
            cost += int(2 * pixels * _samples_per_pixel(im))
        return cost
    return pixels * _BYTES_PER_PIXEL.get(im.mode, 4) * _DECODER_OVERHEAD.get(im.format or "", 1)


def _samples_per_pixel(im: Image.Image) -> float:
    """Components' samples per pixel of a JPEG (3 for 4:4:4 colour, 1.5 for 4:2:0, 1 for grey)."""
    layers: list[tuple[int, int, int, int]] = getattr(im, "layer", [])
    if not layers:
        return 4.0  # unknown: as many as CMYK has
    v_max = max(v for _, v, _, _ in layers)
    h_max = max(h for _, _, h, _ in layers)
    return sum(v * h for _, v, h, _ in layers) / (v_max * h_max)


def hash_source(data: bytes, im: Image.Image, orientation: int) -> Image.Image:
    """A small 8-bit picture (≥ 64 px a side where the photo is) the right way up, for pHash.

    Raises `Truncated` for a JPEG that ends early, `ValueError`/`OSError` for data that can't be decoded."""
    if im.format in JPEG_FORMATS:
        small = _decode_jpeg(data, cmyk=im.mode == "CMYK", adobe="adobe" in im.info)
    else:
        im.load()  # the whole picture: a truncated or corrupt file fails here
        small = _shrink(im)
    small = small.reduce(max(1, min(small.size) // 64))
    upright = _UPRIGHT.get(orientation)
    return small.transpose(upright) if upright is not None else small


def _decode_jpeg(data: bytes, *, cmyk: bool, adobe: bool) -> Image.Image:
    space = "CMYK" if cmyk else "RGB"
    scaled = {"min_height": HASH_SOURCE, "min_width": HASH_SOURCE}
    try:
        pixels = simplejpeg.decode_jpeg(data, space, strict=True, **scaled)
    except ValueError as exc:
        if any(words in str(exc).lower() for words in _TRUNCATED):
            raise Truncated(str(exc)) from exc
        # Other warnings (extraneous bytes before a marker …) are common in phones' files and harmless.
        pixels = simplejpeg.decode_jpeg(data, space, strict=False, **scaled)
    height, width = pixels.shape[:2]
    # Adobe's CMYK JPEGs store the inks inverted (as Pillow reads them, "CMYK;I").
    raw = "CMYK;I" if cmyk and adobe else space
    return Image.frombytes(space, (width, height), pixels.tobytes(), "raw", raw).convert("RGB")


def _shrink(im: Image.Image) -> Image.Image:
    """`im` as L or RGB, without a full-size copy: modes Pillow can't box-reduce (palette, 1-bit, 16-bit …) are
    sampled down to about 512 px first, then converted."""
    if im.mode in ("L", "RGB"):
        return im
    step = max(1, min(im.size) // 512)
    small = im.resize((max(1, im.width // step), max(1, im.height // step)), Image.Resampling.NEAREST)
    if small.mode.startswith("I") or small.mode == "F":
        return _eight_bit(small)
    return small.convert("L")


def _eight_bit(im: Image.Image) -> Image.Image:
    """A 16- or 32-bit grey picture stretched to 8 bits (Pillow's own conversion clips everything above 255)."""
    values = np.asarray(im, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
    return Image.fromarray(scaled.astype(np.uint8))
