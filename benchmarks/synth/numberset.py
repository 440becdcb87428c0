"""Whole numbers, 2 to 6 digits, one writer each: the NUMBER_CATEGORIES set. Label: the digit string
(leading zeros allowed); boxes: each digit's ink, left to right, exact in the encoded image's pixels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import photo, scene
from .layout import Hand, specks, write_line
from .sample import Sample, register, sample_rng
from .skeletons import BROKEN
from .writers import Writer, random_writer

NUMBER_CATEGORIES = register("number", ("pen-paper", "ruled-paper", "pad-dark", "pad-light", "pad-transparent",
                                        "near-touching", "broken", "sizes", "specks", "photo"), 100)


def number_text(rng: np.random.Generator) -> str:
    """2-6 digits; one in six starts with zeros ("007", "0420")."""
    n = int(rng.integers(2, 7))
    text = "".join(str(d) for d in rng.integers(0, 10, n))
    if rng.random() < 1 / 6:
        zeros = int(rng.integers(1, min(3, n - 1) + 1))
        text = "0" * zeros + text[zeros:]
    return text


def _hand(category: str, rng: np.random.Generator, text: str, height: float) -> Hand:
    if category == "near-touching":
        return Hand(height, gap_px=(1, 3), slope=1.5, drift=0.02)
    if category == "sizes":
        return Hand(height, gap=(0.12, 0.45), size=(0.55, 1.35), slope=10.0, drift=0.08)
    if category == "broken":  # every digit that has a two-stroke form gets it; at least one is forced in
        return Hand(height, broken=frozenset(i for i, c in enumerate(text) if c in BROKEN))
    gap = (0.06, 0.25) if rng.random() < 0.5 else (0.25, 0.7)  # small or wide gaps
    return Hand(height, gap=gap)


def _with_broken(text: str, rng: np.random.Generator) -> str:
    if any(c in BROKEN for c in text):
        return text
    i = int(rng.integers(len(text)))
    return text[:i] + str(rng.choice(list(BROKEN))) + text[i + 1:]


def _fit(items: list, width: float) -> bool:
    return scene.union([i.rect for i in items])[2] - scene.union([i.rect for i in items])[0] <= width


def _pad_number(style: str, rng: np.random.Generator, text: str,
                broken: frozenset[int] = frozenset()) -> tuple[bytes, str, tuple, dict, Writer]:
    """`text` drawn with a mouse on a wide pad of `style` (see scene.pad)."""
    canvas = scene.pad_size(rng)
    brush = rng.uniform(8, 28) * canvas[0] / 750  # px at this canvas size (8-28 px on a 750 px pad)
    height = max(brush * 5, rng.uniform(0.4, 0.85) * canvas[1])
    writer = random_writer(rng, pen_kind="mouse")
    for _ in range(6):  # shrink until the number fits the pad
        writer = Writer(**{**writer.__dict__, "pen": brush / height})
        items = write_line(text, writer, Hand(height, gap=(0.1, 0.6), broken=broken), rng)
        if _fit(items, canvas[0] * 0.94) or height < brush * 3:
            break
        height *= 0.85
    rect = scene.union([i.rect for i in items])
    room = np.maximum(np.array(canvas) - [rect[2] - rect[0], rect[3] - rect[1]], 0)
    offset = (-rect[0] + rng.uniform(0.1, 0.9) * room[0], -rect[1] + rng.uniform(0.1, 0.9) * room[1])
    data, fmt, boxes, info = scene.pad(items, canvas, style, rng, (round(offset[0]), round(offset[1])))
    return data, fmt, boxes, {**info, "brush_px": round(brush, 1), "canvas": list(canvas)}, writer


def make_number(category: str, index: int, seed: int) -> Sample:
    """Sample `index` of `category`: deterministic in (category, index, seed)."""
    rng = sample_rng("number", category, index, seed)
    text = number_text(rng)
    if category == "broken":
        text = _with_broken(text, rng)
    if category in scene.PAD_STYLES:
        data, fmt, boxes, info, writer = _pad_number(category, rng, text)
        return Sample(data, fmt, "number", category, text, boxes, {**info, "writer": writer.info()})
    if category == "broken" and rng.random() < 0.3:  # a broken digit drawn on a pad
        hand = _hand(category, rng, text, 1.0)
        data, fmt, boxes, info, writer = _pad_number(str(rng.choice(scene.PAD_STYLES)), rng, text, hand.broken)
        return Sample(data, fmt, "number", category, text, boxes, {**info, "writer": writer.info()})
    writer = random_writer(rng, source="stroke" if category == "broken" else None)
    frame = photo.frame_size(rng) if category == "photo" else None
    if frame is not None:  # 8-20% of the short side, and the number within 80% of the width
        height = min(rng.uniform(0.08, 0.2) * min(frame), 0.8 * frame[0] / (0.85 * len(text)))
    else:
        height = float(np.exp(rng.uniform(np.log(20), np.log(160))))
    items = write_line(text, writer, _hand(category, rng, text, height), rng)
    if category == "specks":
        items += specks(items, rng, height)
    kind = "ruled" if category == "ruled-paper" else "plain"
    if frame is not None:
        data, fmt, boxes, info = scene.photographed(items, rng, frame, height)
    else:
        data, fmt, boxes, info = scene.on_paper(items, rng, height, kind, crisp=category == "near-touching")
    info.update(writer=writer.info(), height_px=round(height, 1))
    return Sample(data, fmt, "number", category, text, boxes, info)


def numbers(per_category: int, seed: int, categories: Sequence[str] = NUMBER_CATEGORIES) -> list[Sample]:
    """`per_category` numbers of each category."""
    return [make_number(c, i, seed) for c in categories for i in range(per_category)]
