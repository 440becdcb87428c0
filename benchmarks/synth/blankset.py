"""Images with no digit at all (BLANK_CATEGORIES): a reader must answer "no digit found"."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import paper, photo, scene
from .digitset import form_cells, printed_box
from .sample import Sample, encode, register, sample_rng

BLANK_CATEGORIES = register("blank", ("blank-canvas", "blank-paper-photo", "blank-ruled", "blank-squared",
                                      "empty-box"), 300)


def _canvas(rng: np.random.Generator) -> tuple[bytes, str, dict]:
    """An untouched pad or a blank page: white, black, fully transparent, or a noisy near-white scan."""
    size = scene.pad_size(rng, wide=rng.random() < 0.5)
    kind = str(rng.choice(["white", "black", "transparent", "scan"], p=[0.35, 0.25, 0.15, 0.25]))
    if kind == "transparent":
        pixels = np.zeros((size[1], size[0], 4), np.uint8)
        pixels[..., :3] = rng.choice([0, 255])
        return encode(pixels, "PNG"), "PNG", {"canvas": kind}
    if kind == "scan":
        colour, name = scene.pick_paper(rng)
        data, fmt, _, info = scene.finish(paper.blank(size, colour), rng, rng.uniform(0.01, 0.04))
        return data, fmt, {"canvas": kind, "paper": name, **info}
    pixels = np.full((size[1], size[0], 3), 255 if kind == "white" else 0, np.uint8)
    return encode(pixels, "PNG"), "PNG", {"canvas": kind}


def _lined(kind: str, rng: np.random.Generator) -> tuple[bytes, str, dict]:
    """Ruled or squared paper with nothing written: a crop or scan, sometimes a photo."""
    height = float(np.exp(rng.uniform(np.log(24), np.log(200))))  # the digit the ruling was made for
    if rng.random() < 0.25:
        frame = photo.frame_size(rng)
        data, fmt, _, info = scene.photographed([], rng, frame, rng.uniform(0.08, 0.2) * min(frame), kind)
        return data, fmt, info
    size = (int(height * rng.uniform(1.2, 4)), int(height * rng.uniform(1.2, 3)))
    size = (min(size[0], 600), min(size[1], 600))
    colour, name = scene.pick_paper(rng)
    page = paper.blank(size, colour)
    target = (size[0] * 0.3, size[1] * 0.3, size[0] * 0.7, size[1] * 0.3 + height)
    info = {"paper": name, **scene.rule(page, rng, kind, target, height)}
    data, fmt, _, more = scene.finish(page, rng, rng.uniform(0.01, 0.03))
    return data, fmt, {**info, **more}


def _empty_box(rng: np.random.Generator) -> tuple[bytes, str, dict]:
    """A printed box or a form's row of cells with nothing in them, cropped as a filled one would be."""
    height = float(np.exp(rng.uniform(np.log(24), np.log(300))))
    ghost = (0.0, 0.0, height * rng.uniform(0.5, 0.8), height)  # where a digit would be
    prints, crop, info = (printed_box if rng.random() < 0.5 else form_cells)(rng, ghost, height)
    size = (max(8, min(600, round(crop[2] - crop[0]))), max(8, min(600, round(crop[3] - crop[1]))))
    colour, info["paper"] = scene.pick_paper(rng)
    page = paper.blank(size, colour)
    ink, info["print"] = scene.print_colour(rng)
    scene.ink_items(page, prints, (-crop[0], -crop[1]), ink)
    data, fmt, _, more = scene.finish(page, rng, rng.uniform(0.01, 0.03))
    return data, fmt, {**info, **more}


def make_blank(category: str, index: int, seed: int) -> Sample:
    """Sample `index` of `category`: deterministic in (category, index, seed)."""
    rng = sample_rng("blank", category, index, seed)
    if category == "blank-canvas":
        data, fmt, info = _canvas(rng)
    elif category == "blank-paper-photo":
        frame = photo.frame_size(rng)
        data, fmt, _, info = scene.photographed([], rng, frame, rng.uniform(0.08, 0.2) * min(frame))
    elif category in ("blank-ruled", "blank-squared"):
        data, fmt, info = _lined(category.split("-")[1], rng)
    else:
        data, fmt, info = _empty_box(rng)
    return Sample(data, fmt, "blank", category, None, (), info)


def blanks(per_category: int, seed: int, categories: Sequence[str] = BLANK_CATEGORIES) -> list[Sample]:
    """`per_category` images of each category with no digit (label None, no boxes)."""
    return [make_blank(c, i, seed) for c in categories for i in range(per_category)]
