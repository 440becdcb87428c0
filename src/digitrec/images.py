"""Reading images safely: from a path, bytes, a PIL image or a numpy array, into a decoded PIL image.

numpy and Pillow only. Every way an input can be unreadable (empty, truncated, not an image, a
decompression bomb, a nonsensical array) becomes a one-line `DigitrecError` naming the input.
"""

from __future__ import annotations

import io
import math
import struct
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import DigitrecError

# A 48-megapixel phone photo is 8064x6048 = 48.8 M pixels; 50 M pixels decoded as RGBA is 200 MB.
MAX_PIXELS = 50_000_000
MAX_BYTES = 100 * 2**20  # no legitimate digit image comes close
# JPEGs decode at a reduced scale (1/2, 1/4 or 1/8, almost free) down to this longest side.
DRAFT_SIDE = 1024

ImageSource = str | Path | bytes | bytearray | memoryview | Image.Image | np.ndarray

# Pillow raises any of these for a corrupt or truncated file, depending on the format and the damage.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError,
                  TypeError, Image.DecompressionBombError)


def describe(source: Any) -> str:
    """A short name for an input, used at the start of error messages."""
    if isinstance(source, (str, Path)):
        return str(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes>"
    if isinstance(source, Image.Image):
        return f"<PIL image {source.mode} {source.width}x{source.height}>"
    if isinstance(source, np.ndarray):
        return f"<array {source.dtype} {'x'.join(map(str, source.shape))}>"
    return f"<{type(source).__name__}>"


def load_image(source: ImageSource, max_pixels: int = MAX_PIXELS, name: str | None = None) -> Image.Image:
    """Decode `source` into a PIL image with its EXIF orientation applied and its mode (alpha, 16-bit)
    kept. An animated image gives its first frame. Images declaring more than `max_pixels` pixels are
    refused before anything is decoded. `name` labels error messages (default: from the source)."""
    name = name or describe(source)
    if isinstance(source, (str, Path)):
        return _decode(_read_file(Path(source), name), max_pixels, name)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _decode(bytes(source), max_pixels, name)
    if isinstance(source, Image.Image):
        _check_size(source, max_pixels, name)
        return _finish(source, name, in_place=False)  # the caller's image: leave it as it is
    if isinstance(source, np.ndarray):
        return from_array(source, name)
    raise DigitrecError(f"{name}: cannot read this type of input; pass a path, bytes, a PIL image "
                        "or a numpy array")


def _read_file(path: Path, name: str) -> bytes:
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise DigitrecError(f"{name}: is a folder; pass image files (or the folder to `digitrec predict`)")
        if size > MAX_BYTES:
            raise DigitrecError(f"{name}: {size / 2**20:.0f} MB is too big for a digit image "
                                f"(limit {MAX_BYTES // 2**20} MB); downscale it first")
        return path.read_bytes()
    except FileNotFoundError:
        raise DigitrecError(f"{name}: no such file; check the path") from None
    except PermissionError:
        raise DigitrecError(f"{name}: permission denied; make the file readable") from None
    except OSError as err:
        raise DigitrecError(f"{name}: cannot be read ({err.strerror or err}); check the file") from None


def _check_size(image: Image.Image, max_pixels: int, name: str) -> None:
    width, height = image.size
    if width * height > max_pixels:
        raise DigitrecError(f"{name}: declares {width}x{height} pixels ({width * height / 1e6:.0f} M), more "
                            f"than the limit of {max_pixels / 1e6:.0f} M; downscale the image first")
    if width == 0 or height == 0:
        raise DigitrecError(f"{name}: has no pixels ({width}x{height}); pass a real image")


def _decode(data: bytes, max_pixels: int, name: str) -> Image.Image:
    if not data:
        raise DigitrecError(f"{name}: empty file (0 bytes); pass a real image file")
    try:
        # Pillow warns (and only past 2x its limit refuses) on huge images; our own limit is checked
        # below from the header alone, before any pixel is decoded.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise DigitrecError(f"{name}: not an image format Pillow can read; pass a PNG, JPEG, BMP, GIF, "
                            "WebP or TIFF file") from None
    except Image.DecompressionBombError:
        raise DigitrecError(f"{name}: declares more pixels than the limit of {max_pixels / 1e6:.0f} M "
                            "(a decompression bomb?); downscale the image first") from None
    except _DECODE_ERRORS as err:
        raise DigitrecError(f"{name}: unreadable image header ({_first_line(err)}); "
                            "re-save the image as PNG") from None
    _check_size(image, max_pixels, name)
    if image.format == "JPEG" and max(image.size) > 2 * DRAFT_SIDE:
        scale = max(image.size) / DRAFT_SIDE
        image.draft(image.mode, (math.ceil(image.width / scale), math.ceil(image.height / scale)))
    return _finish(image, name, in_place=True)


def _finish(image: Image.Image, name: str, in_place: bool) -> Image.Image:
    """Decode the pixels (first frame only) and apply the EXIF orientation; `in_place` for an image
    decoded here, which saves copying every upright image (0.3 ms on a 1-megapixel photo)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
    except _DECODE_ERRORS as err:
        raise DigitrecError(f"{name}: damaged or truncated image data ({_first_line(err)}); "
                            "re-save the image") from None
    try:
        if not in_place:
            return ImageOps.exif_transpose(image)
        ImageOps.exif_transpose(image, in_place=True)
        return image
    except _DECODE_ERRORS + (KeyError, AttributeError):
        return image  # broken EXIF: the pixels are fine, only their orientation tag is not


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def from_array(array: np.ndarray, name: str = "<array>") -> Image.Image:
    """A PIL image (L, RGB or RGBA) from an array (H, W), (H, W, 1|3|4) or (1, H, W).

    uint8 and integer arrays hold 0..255, uint16 0..65535, bool False/True; float arrays hold 0..1
    (or 0..255 when their maximum is above 1)."""
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (3, 4)) or a.size == 0:
        raise DigitrecError(f"{name}: expected an image array of shape (H, W), (H, W, 3) or (H, W, 4); "
                            "reshape it")
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype == np.uint16:
        a = ((a.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif np.issubdtype(a.dtype, np.integer):
        if a.min() < 0 or a.max() > 255:
            raise DigitrecError(f"{name}: integer pixels must lie in 0..255 (or use uint16); rescale it")
        a = a.astype(np.uint8)
    elif np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise DigitrecError(f"{name}: contains NaN or infinity; pass finite pixel values")
        if a.min() < 0 or a.max() > 255:
            raise DigitrecError(f"{name}: float pixels must lie in 0..1 (or 0..255), not "
                                f"{a.min():.3g}..{a.max():.3g}; pass raw pixels, not normalised ones")
        scale = 255.0 if a.max() <= 1.0 else 1.0
        a = np.rint(a * scale).astype(np.uint8)
    else:
        raise DigitrecError(f"{name}: unsupported dtype {a.dtype}; pass uint8, uint16 or float pixels")
    return Image.fromarray(np.ascontiguousarray(a))  # uint8: (H, W) -> L, (H, W, 3) -> RGB, 4 -> RGBA
