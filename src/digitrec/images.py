"""Reading images safely, and writing them: from a path, bytes, a PIL image or a numpy array, into a decoded PIL image.

numpy and Pillow only. Pillow may open only an allowlist of raster formats whose decoders are
Pillow's own or its bundled libraries: never EPS, PostScript or PDF, which Pillow hands to an
external Ghostscript process. Only regular files are read, at most MAX_BYTES of them. Before any
pixel is decoded, the header alone must show that the image has at most MAX_PIXELS and that decoding
it allocates at most MAX_DECODE_BYTES, counting the encoded bytes, the decoded image at Pillow's
storage size and the decoder's own buffers (`open_image`); the codecs Pillow runs in Python take at
most SLOW_DECODE_BYTES. Every way an input can be unreadable becomes a one-line `DigitrecError`
naming the input.
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
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from .errors import DigitrecError
from .fileio import read_bounded

# A 48-megapixel phone photo is 8064x6048 = 48.8 M pixels; 50 M pixels decoded as RGBA is 200 MB.
MAX_PIXELS = 50_000_000
MAX_BYTES = 100 * 2**20  # no legitimate digit image comes close
# What decoding one input may allocate: a 50-megapixel RGB(A) PNG (200 MB at 4 bytes a pixel) just
# fits. Measured peak of the whole recognition of such an input: this much plus about 15 MB.
MAX_DECODE_BYTES = 200 * 2**20
# Pillow decodes RLE BMPs and plain (ASCII) or odd-maxval PNM files in Python, at 1-4 us a byte.
SLOW_DECODE_BYTES = 256 * 2**10
# JPEGs decode at a reduced scale (1/2, 1/4 or 1/8, almost free) down to this longest side.
DRAFT_SIDE = 1024
# Raster formats decoded in-process by Pillow's own code and its bundled libjpeg, libpng, libtiff and
# libwebp. "JPEG" also opens MPO, the JPEG-with-previews many phones save; "PPM" covers .pgm/.ppm/.pbm
# scans. EPS, PS and PDF are refused: Pillow would run Ghostscript on them.
ALLOWED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "DIB", "WEBP", "TIFF", "PPM")
FORMAT_HINT = "pass a PNG, JPEG, BMP, GIF, WebP or TIFF file"
_POSTSCRIPT_MAGIC = (b"%!", b"\xc5\xd0\xd3\xc6", b"%PDF")  # PostScript/EPS, DOS EPS binary, PDF
ORIENTATION = 0x0112  # the EXIF tag
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Bytes per pixel Pillow stores a PNG in, by (colour type, bit depth): 1, L, I;16, RGB, P, LA, RGBA.
_PNG_STORAGE = {(0, 1): 1, (0, 2): 1, (0, 4): 1, (0, 8): 1, (0, 16): 2, (2, 8): 4, (2, 16): 4,
                (3, 1): 1, (3, 2): 1, (3, 4): 1, (3, 8): 1, (4, 8): 4, (4, 16): 4, (6, 8): 4, (6, 16): 4}

# Pillow decompresses a PNG's text chunks when it opens the file, up to 64 MB of them by default: an
# 85 KB PNG of 80 zTXt chunks cost 66 MB and 1 s before it was refused. A digit needs no text.
# (This lowers Pillow's limit for the whole process: no real PNG carries 4 MB of text.)
PngImagePlugin.MAX_TEXT_MEMORY = min(PngImagePlugin.MAX_TEXT_MEMORY, 4 * 2**20)

ImageSource = str | Path | bytes | bytearray | memoryview | Image.Image | np.ndarray

# Pillow raises any of these for a corrupt or truncated file, depending on the format and the damage.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError,
                  TypeError, KeyError, Image.DecompressionBombError)


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


def _error(name: str, problem: str, hint: str, kind: str = "unreadable") -> DigitrecError:
    return DigitrecError(name, problem, hint, kind)  # type: ignore[arg-type]


def load_image(source: ImageSource, max_pixels: int = MAX_PIXELS, name: str | None = None) -> Image.Image:
    """Decode `source` into a PIL image with its EXIF orientation applied and its mode (alpha, 16-bit)
    kept. An animated image gives its first frame. `name` labels error messages (default: from the source)."""
    name = name or describe(source)
    if isinstance(source, (str, Path)):
        return _decode(read_bounded(Path(source), MAX_BYTES, "image file"), max_pixels, name)
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) > MAX_BYTES:
            raise _error(name, f"is larger than the {MAX_BYTES // 2**20} MB limit", "pass a smaller image",
                         "too-large")
        return _decode(bytes(source), max_pixels, name)
    if isinstance(source, Image.Image):
        _check_size(source, max_pixels, name)
        return _finish(source, name, in_place=False)  # the caller's image: leave it as it is
    if isinstance(source, np.ndarray):
        return from_array(source, name)
    raise _error(name, "cannot read this type of input", "pass a path, bytes, a PIL image or a numpy array")


def _check_size(image: Image.Image, max_pixels: int, name: str) -> None:
    width, height = image.size
    if width * height > max_pixels:
        raise _error(name, f"declares {width}x{height} pixels ({width * height / 1e6:.0f} M), more than the "
                     f"limit of {max_pixels / 1e6:.0f} M", "downscale the image first", "too-large")
    if width == 0 or height == 0:
        raise _error(name, f"has no pixels ({width}x{height})", "pass a real image")


def _decode(data: bytes, max_pixels: int, name: str) -> Image.Image:
    image, cost = open_image(data, max_pixels, name)
    return _finish(image, name, in_place=True, cost=cost)


def open_image(data: bytes, max_pixels: int = MAX_PIXELS, name: str = "<bytes>") -> tuple[Image.Image, int]:
    """(`data` opened: header read, no pixel decoded, a big JPEG set to decode at a reduced scale;
    the bytes decoding it will allocate). Refuses, in one line, anything not an allowed image
    format, over MAX_PIXELS, over MAX_DECODE_BYTES, or slow to decode and over SLOW_DECODE_BYTES."""
    if not data:
        raise _error(name, "empty file (0 bytes)", "pass a real image file")
    if data[:64].lstrip()[:4].startswith(_POSTSCRIPT_MAGIC):  # a slice: lstrip would copy it all
        raise _error(name, "is PostScript, EPS or PDF, which digitrec does not open (decoding it would run "
                     "Ghostscript)", f"export it as PNG first; {FORMAT_HINT}", "unsupported")
    try:
        # Pillow warns (and only past 2x its limit refuses) on huge images; our own limit is checked
        # below from the header alone, before any pixel is decoded.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
        _check_size(image, max_pixels, name)
        declared = f"{image.format} {image.mode} {image.width}x{image.height}"
        buffers = _decoder_bytes(image)  # at the full size, which is what those buffers hold
        if image.format in ("JPEG", "MPO") and max(image.size) > 2 * DRAFT_SIDE:
            scale = max(image.size) / DRAFT_SIDE
            image.draft(image.mode, (math.ceil(image.width / scale), math.ceil(image.height / scale)))
    except UnidentifiedImageError:
        raise _error(name, "not an image format digitrec reads", FORMAT_HINT) from None
    except Image.DecompressionBombError:
        raise _error(name, f"declares more pixels than the limit of {max_pixels / 1e6:.0f} M (a decompression "
                     "bomb?)", "downscale the image first", "too-large") from None
    except _DECODE_ERRORS as err:
        raise _error(name, f"unreadable image header ({_first_line(err)})", "re-save the image as PNG") from None
    cost = len(data) + image.width * image.height * pixel_bytes(image.mode) + buffers
    if cost > MAX_DECODE_BYTES:
        raise _too_costly(name, declared, cost)
    if len(data) > SLOW_DECODE_BYTES and any(tile.codec_name in Image.DECODERS for tile in image.tile):
        raise _error(name, f"is a {image.format} variant that Pillow decodes slowly, in Python (RLE-compressed "
                     f"BMP, or ASCII or odd-depth PNM), and larger than {SLOW_DECODE_BYTES // 1024} KB",
                     "re-save it as PNG", "too-large")
    return image, cost


def decode_cost(data: bytes, name: str = "<bytes>") -> int:
    """What `open_image` says decoding `data` costs, or its error; for a PNG, read straight from its
    IHDR chunk (2 us, where opening it in Pillow took 150 us: 4% of a small request)."""
    if data[:8] == _PNG_SIGNATURE and data[12:16] == b"IHDR" and len(data) >= 33:
        width, height, depth, color = struct.unpack(">IIBB", data[16:26])
        storage = _PNG_STORAGE.get((color, depth))
        if storage and 0 < width * height <= MAX_PIXELS:
            cost = len(data) + width * height * storage
            if cost <= MAX_DECODE_BYTES:
                return cost
    return open_image(data, name=name)[1]  # anything else, and every error, as decoding would see it


def _too_costly(name: str, declared: str, cost: int) -> DigitrecError:
    return _error(name, f"would take {cost / 2**20:.0f} MB to decode ({declared}), more than the limit of "
                  f"{MAX_DECODE_BYTES / 2**20:.0f} MB", "downscale the image first", "too-large")


def pixel_bytes(mode: str) -> int:
    """Bytes per pixel of Pillow's storage of `mode`: every multi-band mode (RGB included) takes 4."""
    return 1 if mode in ("1", "L", "P") else 2 if mode.startswith("I;16") else 4


def _decoder_bytes(image: Image.Image) -> int:
    """Bytes the decoder of an opened image allocates beside the image itself, measured per format."""
    pixels = image.width * image.height
    if image.format == "WEBP":
        return 12 * pixels  # libwebp's RGBA canvas, its previous frame's, and Pillow's bytes copy of it
    if image.format in ("JPEG", "MPO") and image.info.get("progressive"):
        # A progressive JPEG keeps every DCT coefficient (2 bytes) of every component at full size,
        # whatever scale it is decoded at; subsampled chroma components hold fewer.
        layers = [(max(1, h), max(1, v)) for _, h, v, _ in getattr(image, "layer", [])] or [(1, 1)]
        h_max, v_max = max(h for h, _ in layers), max(v for _, v in layers)
        return int(2 * pixels * sum(h * v for h, v in layers) / (h_max * v_max))
    if image.format == "TIFF" and any(tile.codec_name == "libtiff" for tile in image.tile):
        return _tiff_buffer_bytes(image)
    return 0


def _tiff_buffer_bytes(image: Image.Image) -> int:
    """libtiff reads one strip or tile at a time into a buffer (as RGBA for some encodings): one
    strip can be the whole image."""
    tags = getattr(image, "tag_v2", {})

    def tag(key: int, default: int) -> int:
        value = tags.get(key, default)
        value = value[0] if isinstance(value, tuple) and value else value
        return max(1, int(value)) if isinstance(value, (int, float)) and math.isfinite(value) else default

    bits = tags.get(258, 8)
    pixel_bits = sum(bits) if isinstance(bits, tuple) else tag(258, 8) * tag(277, 1)
    if 322 in tags:  # TileWidth, TileLength
        width, rows = tag(322, image.width), tag(323, image.height)
    else:
        width, rows = image.width, min(tag(278, image.height), image.height)  # RowsPerStrip
    return width * rows * max(4, math.ceil(pixel_bits / 8))


def _finish(image: Image.Image, name: str, in_place: bool, cost: int = 0) -> Image.Image:
    """Decode the pixels (first frame only) and apply the EXIF orientation; `in_place` for an image
    decoded here, which saves copying every upright image (0.3 ms on a 1-megapixel photo). `cost`:
    the bytes decoding took; turning the image takes a second copy of it, within the same limit."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
    except _DECODE_ERRORS as err:
        raise _error(name, f"damaged or truncated image data ({_first_line(err)})", "re-save the image") from None
    try:
        if cost and image.getexif().get(ORIENTATION, 1) != 1:
            cost += image.width * image.height * pixel_bytes(image.mode)
            if cost > MAX_DECODE_BYTES:
                raise _too_costly(name, f"{image.format} {image.mode} {image.width}x{image.height}, turned by "
                                  "its EXIF orientation", cost)
        if not in_place:
            return ImageOps.exif_transpose(image)
        ImageOps.exif_transpose(image, in_place=True)
        return image
    except _DECODE_ERRORS + (AttributeError,):
        return image  # broken EXIF: the pixels are fine, only their orientation tag is not


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:160] if text else type(err).__name__


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
        raise _error(name, "expected an image array of shape (H, W), (H, W, 3) or (H, W, 4)", "reshape it")
    if a.shape[0] * a.shape[1] > MAX_PIXELS:
        raise _error(name, f"holds more than {MAX_PIXELS / 1e6:.0f} M pixels", "downscale it first", "too-large")
    return Image.fromarray(np.ascontiguousarray(_to_uint8(a, name)))  # (H, W) -> L, 3 -> RGB, 4 -> RGBA


def _to_uint8(a: np.ndarray, name: str) -> np.ndarray:
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if a.dtype == np.uint16:
        return ((a.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if np.issubdtype(a.dtype, np.integer):
        if a.min() < 0 or a.max() > 255:
            raise _error(name, "integer pixels must lie in 0..255 (or use uint16)", "rescale it")
        return a.astype(np.uint8)
    if np.issubdtype(a.dtype, np.floating):
        check_finite(a, name)
        if a.min() < 0 or a.max() > 255:
            raise _error(name, f"float pixels must lie in 0..1 (or 0..255), not {a.min():.3g}..{a.max():.3g}",
                         "pass raw pixels, not normalised ones")
        scale = 255.0 if a.max() <= 1.0 else 1.0
        return np.rint(a * scale).astype(np.uint8)
    raise _error(name, f"unsupported dtype {a.dtype}", "pass uint8, uint16 or float pixels")


def check_finite(a: np.ndarray, name: str) -> None:
    """Float pixels must be numbers: NaN or infinity (a 32-bit TIFF can hold them) is refused."""
    if not np.isfinite(a).all():
        raise _error(name, "contains NaN or infinite pixel values", "pass finite pixel values (re-save as PNG)")


def encode_png(image: np.ndarray) -> bytes:
    """A PNG of an (H, W) uint8 greyscale or (H, W, 3) RGB array."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    return buffer.getvalue()
