"""The one fixtures module of the tests and benchmarks: digits drawn from a font or taken from MNIST,
placed on canvases, encoded in any format, and hand-made hostile files (bombs, damaged files)."""

from __future__ import annotations

import io
import struct
import zlib
from functools import cache
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from digitrec.data import load_split


@cache
def mnist_test() -> tuple[np.ndarray, np.ndarray]:
    """The MNIST test images (10000, 28, 28) uint8 and labels (10000,), verified."""
    return load_split("test")


def font_digit(digit: int, size: int = 200, ink: int = 0, paper: int = 255, height: float = 0.6,
               where: tuple[float, float] = (0.5, 0.5)) -> Image.Image:
    """An L image: `digit` in DejaVu Sans, about `height` x size tall, its box centred at `where`."""
    font = ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"),
                              int(size * height * 1.35))
    glyph = Image.new("L", (size * 2, size * 2), 0)
    ImageDraw.Draw(glyph).text((size // 2, size // 4), str(digit), font=font, fill=255)
    glyph = glyph.crop(glyph.getbbox())
    mask = Image.new("L", (size, size), 0)
    mask.paste(glyph, (round(where[0] * size - glyph.width / 2), round(where[1] * size - glyph.height / 2)))
    return Image.composite(Image.new("L", mask.size, ink), Image.new("L", mask.size, paper), mask)


def mnist_on_canvas(index: int, canvas: tuple[int, int] = (400, 300), at: tuple[int, int] = (40, 30),
                    scale: int = 4, invert: bool = True) -> Image.Image:
    """MNIST test digit `index`, enlarged `scale` times, dark on light (invert) at pixel `at`."""
    digit = mnist_test()[0][index]
    tile = Image.fromarray(255 - digit if invert else digit).resize((28 * scale, 28 * scale),
                                                                     Image.Resampling.BILINEAR)
    image = Image.new("L", canvas, 255 if invert else 0)
    image.paste(tile, at)
    return image


def encode(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def canvas_digits(count: int, canvas: tuple[int, int] = (160, 120)) -> list[bytes]:
    """MNIST test digits as a person's upload: black ink on white PNGs, 3x larger, off-centre."""
    return [encode(mnist_on_canvas(i, canvas, (8 + 5 * i % 60, 10 + 2 * i % 30), scale=3)) for i in range(count)]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width x height 8-bit gray pixels; its data holds two rows."""
    rows = zlib.compress(b"\x00" * (1 + width) * 2, 9)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", rows) + _chunk(b"IEND", b"")


def truncated(data: bytes) -> bytes:
    """The first half of an encoded image: a damaged download."""
    return data[: len(data) // 2]


def ruled_page(size: tuple[int, int] = (300, 220), spacing: int = 36, colour: tuple[int, int, int] = (150, 180, 225),
               margin: int | None = 40) -> Image.Image:
    """An empty page of a notebook: pale blue ruling every `spacing` px and a red margin line."""
    page = Image.new("RGB", size, (250, 249, 244))
    draw = ImageDraw.Draw(page)
    for y in range(spacing // 2, size[1], spacing):
        draw.line([(0, y), (size[0], y)], fill=colour, width=2)
    if margin is not None:
        draw.line([(margin, 0), (margin, size[1])], fill=(225, 90, 90), width=2)
    return page


def squared_page(size: tuple[int, int] = (300, 220), spacing: int = 20) -> Image.Image:
    """An empty page of squared paper: a grey-green grid every `spacing` px."""
    page = Image.new("RGB", size, (248, 250, 247))
    draw = ImageDraw.Draw(page)
    for x in range(spacing // 2, size[0], spacing):
        draw.line([(x, 0), (x, size[1])], fill=(170, 200, 185), width=1)
    for y in range(spacing // 2, size[1], spacing):
        draw.line([(0, y), (size[0], y)], fill=(170, 200, 185), width=1)
    return page


def photo_of_paper(size: tuple[int, int] = (1600, 1200), seed: int = 0) -> Image.Image:
    """A phone photo of blank paper: warm tint, a vignette, a soft shadow from one side, sensor noise."""
    rng = np.random.default_rng(seed)
    h, w = size[1], size[0]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 1 - 0.35 * (((x / w - 0.5) ** 2 + (y / h - 0.5) ** 2) * 2) - 0.25 * np.clip(1 - x / (0.4 * w), 0, 1)
    rgb = np.stack([0.92 * light, 0.88 * light, 0.8 * light], -1) + rng.normal(0, 0.015, (h, w, 3))
    return Image.fromarray(np.clip(rgb * 255, 0, 255).astype(np.uint8))


def write_on(page: Image.Image, digit: int, height: int, at: tuple[int, int],
             colour: tuple[int, int, int] = (25, 35, 90), font_size_ratio: float = 1.0) -> Image.Image:
    """`page` with `digit` written in DejaVu Sans, about `height` px tall, its box's top-left at `at`."""
    glyph = font_digit(digit, size=height * 2, height=0.5 * font_size_ratio)
    mask = Image.eval(glyph, lambda v: 255 - v).crop(Image.eval(glyph, lambda v: 255 - v).getbbox())
    out = page.copy()
    out.paste(Image.new("RGB", mask.size, colour), at, mask)
    return out
# -- hostile inputs: cheap to make, costly to decode, or not images at all -----------------------

def uniform_png(width: int, height: int, depth: int = 8, color: int = 0, interlace: int = 0) -> bytes:
    """A valid PNG of one colour (all bytes 0xff: white, opaque) of any size, depth and colour type,
    compressed row by row (a 7000x7000 RGBA is 200 KB and takes a second to make)."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    row = b"\x00" + b"\xff" * ((width * channels * depth + 7) // 8)
    packer = zlib.compressobj(9)
    rows = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace)
    palette = _chunk(b"PLTE", b"\xff\xff\xff" * 256) if color == 3 else b""
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + palette + _chunk(b"IDAT", rows) + _chunk(b"IEND", b"")


def with_chunks(png: bytes, chunks: list[tuple[bytes, bytes]]) -> bytes:
    """The PNG with (type, data) chunks inserted after its IHDR (the 8-byte signature, then 25 bytes)."""
    return png[:33] + b"".join(_chunk(kind, data) for kind, data in chunks) + png[33:]


def png_with_text_bomb(chunks: int = 80) -> bytes:
    """A 28x28 PNG with `chunks` zTXt chunks of 1 MB of text each, compressed to 1 KB."""
    text = zlib.compress(b"a" * 2**20, 9)
    return with_chunks(encode(Image.new("L", (28, 28), 128)), [(b"zTXt", b"k%d\x00\x00" % i + text)
                                                               for i in range(chunks)])


def float_tiff(value: float, size: int = 64) -> bytes:
    """A 32-bit float TIFF with a digit-like bar, and `value` (NaN, infinity) in one corner."""
    x = np.ones((size, size), np.float32)
    x[size // 4: 3 * size // 4, size // 2 - 3: size // 2 + 3] = 0
    x[0, 0] = value
    return encode(Image.fromarray(x), "TIFF")


def rle_bmp(width: int, height: int) -> bytes:
    """An 8-bit RLE BMP of runs of one pixel (2 bytes a pixel): Pillow decodes it in Python."""
    body = (b"\x01\x10" * width + b"\x00\x00") * height + b"\x00\x01"
    palette = b"".join(bytes([i, i, i, 0]) for i in range(256))
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(body), 2835, 2835, 256, 0)
    offset = 14 + len(info) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(body), 0, 0, offset) + info + palette + body


POSTSCRIPT = {  # what Pillow would hand to Ghostscript
    "eps": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\n0 0 moveto 28 28 lineto stroke showpage\n",
    "dos-eps": b"\xc5\xd0\xd3\xc6" + struct.pack("<6I", 30, 60, 0, 0, 0, 0) + b"\xff\xff" + b"%!PS-Adobe-3.0\n" * 4,
    "pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
}
