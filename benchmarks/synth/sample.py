"""The sample record, per-sample random generators, and encoding to the file bytes a user would send."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

Box = tuple[int, int, int, int]

# Stable ids for np.random.default_rng([seed, id, index]): a category keeps its stream when others are
# added or reordered, and no two sets share one (digits' "photo" and numbers' "photo" differ).
CATEGORY_IDS: dict[tuple[str, str], int] = {}


def register(kind: str, categories: tuple[str, ...], base: int) -> tuple[str, ...]:
    for offset, category in enumerate(categories):
        CATEGORY_IDS[(kind, category)] = base + offset
    return categories


def sample_rng(kind: str, category: str, index: int, seed: int) -> np.random.Generator:
    """The generator of one sample: deterministic in (kind, category, index, seed)."""
    if (kind, category) not in CATEGORY_IDS:
        known = sorted(c for k, c in CATEGORY_IDS if k == kind)
        raise ValueError(f"unknown {kind} category {category!r}; known: {', '.join(known)}")
    return np.random.default_rng([seed, CATEGORY_IDS[(kind, category)], index])


@dataclass(frozen=True)
class Sample:
    data: bytes  # an encoded image file (PNG, JPEG, ...), exactly what a user would pass
    fmt: str  # "PNG", "JPEG", "WEBP", ...
    kind: str  # "digit", "number", "negative" or "blank"
    category: str  # the condition, e.g. "ruled", "photo", "letters-font"
    label: str | None  # "7" for a digit, "2024" for a number (leading zeros allowed), None otherwise
    # Per digit, left to right: (x0, y0, x1, y1), x1 and y1 exclusive (PIL's getbbox convention), in the
    # pixels of the image as displayed (after its EXIF orientation, if any, is applied).
    boxes: tuple[Box, ...] = ()
    info: dict = field(default_factory=dict)  # writer/font, paper, ... (JSON-serialisable)


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """float 0..1 -> uint8, rounding (the float arrays here are all in 0..1)."""
    return np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def encode(pixels: np.ndarray | Image.Image, fmt: str, quality: int = 90, exif_orientation: int = 1) -> bytes:
    """uint8 pixels (H, W, 3 or 4) or an image -> file bytes. `exif_orientation` (1, 3, 6 or 8): the pixels are
    stored turned so that a viewer applying the tag shows them as given."""
    image = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
    kwargs: dict = {}
    if exif_orientation != 1:
        # The tag says how to turn the stored pixels for display; store them turned the other way.
        undo = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
        image = image.transpose(undo[exif_orientation])
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif
    buf = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(buf, "JPEG", quality=quality, **kwargs)
    elif fmt == "WEBP":
        image.save(buf, "WEBP", quality=quality, **kwargs)
    elif fmt == "PNG":
        image.save(buf, "PNG", compress_level=1, **kwargs)  # noisy images compress badly; level 1 is fast
    elif fmt == "GIF":
        image.convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(buf, "GIF")
    else:  # BMP, TIFF
        image.save(buf, fmt)
    return buf.getvalue()


def scan_format(rng: np.random.Generator) -> tuple[str, int]:
    """(format, quality) of a scan or a crop someone saved: mostly PNG, often JPEG, sometimes WEBP."""
    fmt = str(rng.choice(["PNG", "JPEG", "WEBP"], p=[0.5, 0.4, 0.1]))
    return fmt, int(rng.integers(70, 96))
