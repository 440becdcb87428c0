"""Single handwritten digits on real paper: the DIGIT_CATEGORIES set.

Each category is a set of conditions (paper, printed frame, ink, crop, photo); "combined" joins two
compatible ones. A sample is built as a scene (the digit's ink, plus neighbours for a sliver), a rectangle
of it to show, the page under that rectangle, and a scan or photo of the page.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import paper, photo, scene
from .sample import Sample, register, sample_rng
from .scene import Item, Rect
from .writers import glyph, random_writer

DIGIT_CATEGORIES = register("digit", ("ruled", "squared", "boxed", "form-cells", "photo", "pencil-photo",
                                      "coloured-ink", "coloured-paper", "neighbour-sliver", "tight-crop",
                                      "combined"), 0)
CONDITIONS: dict[str, dict[str, str]] = {
    "ruled": {"paper": "ruled"}, "squared": {"paper": "squared"}, "boxed": {"frame": "box"},
    "form-cells": {"frame": "cells"}, "photo": {"photo": "pen"}, "pencil-photo": {"photo": "pencil", "ink": "pencil"},
    "coloured-ink": {"ink": "coloured"}, "coloured-paper": {"paper": "coloured"},
    "neighbour-sliver": {"crop": "sliver"}, "tight-crop": {"crop": "tight"}}
DEFAULTS = {"paper": "plain", "frame": "none", "ink": "dark", "crop": "scan", "photo": "none"}
# Pairs that cannot be one image (besides two of the same kind, as ruled and squared): a tight crop shows no
# box or photo; a sliver comes from a written number, not from a box's or a frame's edge.
_CLASHES = {frozenset(p) for p in [("tight-crop", "boxed"), ("tight-crop", "form-cells"), ("tight-crop", "photo"),
                                   ("tight-crop", "pencil-photo"), ("neighbour-sliver", "photo"),
                                   ("neighbour-sliver", "pencil-photo"), ("neighbour-sliver", "boxed"),
                                   ("neighbour-sliver", "form-cells"), ("tight-crop", "neighbour-sliver")]}
PAIRS = [(a, b) for i, a in enumerate(CONDITIONS) for b in list(CONDITIONS)[i + 1:]
         if not set(CONDITIONS[a]) & set(CONDITIONS[b]) and frozenset((a, b)) not in _CLASHES]


def _margins(rng: np.random.Generator, height: float, lo: float, hi: float) -> np.ndarray:
    """Left, top, right, bottom margins, each its own fraction of the digit height (off-centre crops)."""
    return rng.uniform(lo, hi, 4) * height


def _grow(rect: Rect, m: np.ndarray) -> Rect:
    return rect[0] - m[0], rect[1] - m[1], rect[2] + m[2], rect[3] + m[3]


def _cap(rect: Rect, main: Rect, limit: float = 600) -> Rect:
    """Shrink a crop to at most `limit` px a side, keeping the main digit inside it."""
    x0, y0, x1, y1 = rect
    if x1 - x0 > limit:
        x0 = max(x0, main[2] - limit)
        x1 = x0 + limit
    if y1 - y0 > limit:
        y0 = max(y0, main[3] - limit)
        y1 = y0 + limit
    return x0, y0, x1, y1


def _sliver(rng: np.random.Generator, writer, label: str, main: Item, height: float) -> tuple[list[Item], Rect]:
    """Neighbours of a digit in a written number, and a crop showing a sliver (8-30% of the width) of them."""
    sides = [str(rng.choice(["left", "right"]))] if rng.random() < 0.8 else ["left", "right"]
    items, m = [], _margins(rng, height, 0.05, 0.4)
    rect = list(_grow(main.rect, m))
    for side in sides:
        alpha = glyph(str(rng.integers(10)), writer, height * rng.uniform(0.85, 1.15), rng)
        gap = max(2.0, rng.uniform(0.06, 0.35) * height)
        y = main.y + main.alpha.shape[0] - alpha.shape[0] + rng.normal(0, 0.05 * height)
        seen = rng.uniform(0.08, 0.3) * alpha.shape[1]
        if side == "left":
            x = main.x - gap - alpha.shape[1]
            rect[0] = x + alpha.shape[1] - seen
        else:
            x = main.rect[2] + gap
            rect[2] = x + seen
        items.append(Item(alpha, x, y, digit=False))
    return items, tuple(rect)


def printed_box(rng: np.random.Generator, main: Rect, height: float) -> tuple[list[Item], Rect, dict]:
    """A printed box around the digit, and a crop that sometimes runs along or through its border."""
    thickness = rng.uniform(1, 4)
    x0, y0, x1, y1 = _grow(main, _margins(rng, height, 0.03, 0.5))
    radius = rng.uniform(0.05, 0.25) * min(x1 - x0, y1 - y0) if rng.random() < 0.3 else 0.0
    border = Item(paper.outline((x1 - x0, y1 - y0), thickness, radius), x0, y0, digit=False)
    outside = rng.uniform(0.0, 0.3, 4) * height
    cut = rng.random(4) < 0.25
    outside[cut] = rng.uniform(-thickness, 0.5, int(cut.sum()))
    return [border], _grow((x0, y0, x1, y1), outside), {"box_px": round(thickness, 1), "rounded": bool(radius > 0)}


def _bar(w: float, h: float) -> np.ndarray:
    return np.ones((max(1, round(h)), max(1, round(w))), np.float32)


FIELD_LABELS = ["Amount", "Date", "Qty", "No.", "Code", "Tel.", "Postcode", "Total", "ID", "Age", "Ref", "Score"]


def form_cells(rng: np.random.Generator, main: Rect, height: float) -> tuple[list[Item], Rect, dict]:
    """A form's row of cells (boxes, a comb, or separate boxes), the digit in one of them, and a crop showing
    neighbouring cells; sometimes a printed field label above."""
    style = str(rng.choice(["boxes", "comb", "separate"]))
    n, k = int(rng.integers(4, 11)), 0
    k = int(rng.integers(n))
    width = main[2] - main[0]
    cw = max(width * 1.15, height * rng.uniform(0.8, 1.3))
    ch = height * rng.uniform(1.1, 1.6)
    t = rng.uniform(1, 3)
    cx, cy = (main[0] + main[2]) / 2 + rng.normal(0, 0.06) * cw, (main[1] + main[3]) / 2 + rng.normal(0, 0.05) * ch
    crossing = rng.random() < 0.25  # the digit runs onto a divider
    if crossing:
        cx += rng.choice([-1, 1]) * (cw - width) / 2 + rng.normal(0, 0.04 * height)
    gap = rng.uniform(0.1, 0.3) * cw if style == "separate" else 0.0
    x0, y0 = cx - cw / 2 - k * (cw + gap), cy - ch / 2
    prints = []
    if style == "boxes":
        prints.append(Item(paper.outline((n * cw + t, ch), t), x0, y0, digit=False))
        prints += [Item(_bar(t, ch), x0 + j * cw, y0, digit=False) for j in range(1, n)]
    elif style == "separate":
        prints += [Item(paper.outline((cw, ch), t), x0 + j * (cw + gap), y0, digit=False) for j in range(n)]
    else:
        tick = ch * rng.uniform(0.25, 0.5)
        prints.append(Item(_bar(n * cw + t, t), x0, y0 + ch - t, digit=False))
        prints += [Item(_bar(t, tick), x0 + j * cw, y0 + ch - tick, digit=False) for j in range(n + 1)]
    info = {"cells": style, "cell_px": [round(cw), round(ch)], "border_px": round(t, 1), "crossing": crossing}
    if rng.random() < 0.5:
        text = str(rng.choice(FIELD_LABELS))
        alpha = paper.label(text, ch * rng.uniform(0.18, 0.3), rng)
        prints.append(Item(alpha, x0 + rng.uniform(0, 0.3) * cw, y0 - alpha.shape[0] - rng.uniform(2, 0.15 * ch),
                           digit=False))
        info["label"] = text
    kx0 = x0 + k * (cw + gap)
    crop = (kx0 - rng.uniform(0.2, 1.2) * cw, y0 - rng.uniform(0.1, 0.6) * ch,
            kx0 + cw + rng.uniform(0.2, 1.2) * cw, y0 + ch + rng.uniform(0.1, 0.6) * ch)
    return prints, crop, info


def _tight(rng: np.random.Generator, main: Rect) -> Rect:
    """Right to the ink, sometimes 1-2 px into it on a side or two."""
    into = np.where(rng.random(4) < 0.3, rng.integers(1, 3, 4), 0)
    return _grow(main, -into.astype(np.float64))


def _conditions(category: str, rng: np.random.Generator) -> tuple[dict[str, str], list[str]]:
    names = [category]
    if category == "combined":
        names = list(PAIRS[rng.integers(len(PAIRS))])
    cond = dict(DEFAULTS)
    for name in names:
        cond.update(CONDITIONS[name])
    return cond, names


def _height(rng: np.random.Generator, cond: dict[str, str], frame: tuple[int, int] | None) -> float:
    """The digit's height, px: 8-20% of a photo's short side; in scans and crops 24-300 px (log-uniform)."""
    if frame is not None:
        return rng.uniform(0.08, 0.2) * min(frame)
    return float(np.exp(rng.uniform(np.log(24), np.log(300))))


def make_digit(category: str, index: int, seed: int) -> Sample:
    """Sample `index` of `category`: a digit `index % 10`, deterministic in (category, index, seed)."""
    rng = sample_rng("digit", category, index, seed)
    label = str(index % 10)
    cond, names = _conditions(category, rng)
    writer = random_writer(rng, pen_kind="pencil" if cond["ink"] == "pencil" else None)
    paper_colour, paper_name = scene.pick_paper(rng, "coloured" if cond["paper"] == "coloured" else "plain")
    ink_kind = "pencil" if writer.pen_kind == "pencil" else cond["ink"]
    if cond["paper"] == "coloured" and ink_kind == "dark" and rng.random() < 0.4:
        ink_kind = "coloured"
    ink, ink_name = scene.pick_ink(rng, ink_kind)
    frame = photo.frame_size(rng) if cond["photo"] != "none" else None
    height = _height(rng, cond, frame)
    main = Item(glyph(label, writer, height, rng), 0.0, 0.0)
    items, prints, info = [main], [], {"conditions": names, "writer": writer.info(), "paper": paper_name,
                                      "ink": ink_name, "height_px": round(height, 1)}
    crop = _grow(main.rect, _margins(rng, height, 0.06, 0.5) if rng.random() < 0.65
                 else _margins(rng, height, 0.4, 1.2))
    if cond["frame"] == "box":
        prints, crop, more = printed_box(rng, main.rect, height)
        info.update(more)
    elif cond["frame"] == "cells":
        prints, crop, more = form_cells(rng, main.rect, height)
        info.update(more)
    if cond["crop"] == "sliver":
        neighbours, crop = _sliver(rng, writer, label, main, height)
        items += neighbours
    elif cond["crop"] == "tight":
        crop = _tight(rng, main.rect)
    if frame is not None:
        page, h_fp, offset, more = scene.photo_page(rng, items + prints, paper_colour, frame)
        info.update(more)
    else:
        crop = _cap(crop, main.rect)
        size = (max(8, round(crop[2] - crop[0])), max(8, round(crop[3] - crop[1])))
        page, offset = paper.blank(size, paper_colour), (-crop[0], -crop[1])
    target = (offset[0], offset[1], offset[0] + main.rect[2], offset[1] + main.rect[3])
    info.update(scene.rule(page, rng, cond["paper"], target, height))
    if prints:
        colour, info["print"] = scene.print_colour(rng)
        scene.ink_items(page, prints, offset, colour)
    scene.ink_items(page, items, offset, ink)
    if frame is not None:
        if rng.random() < 0.4:
            info.update(photo.desk_edge(page, h_fp, frame, rng))
        data, fmt, boxes, more = scene.finish_photo(page, h_fp, frame, rng)
    else:
        data, fmt, boxes, more = scene.finish(page, rng, 0.05 if paper_name == "kraft" else rng.uniform(0.01, 0.03),
                                              turn=cond["crop"] != "tight")
    info.update(more)
    return Sample(data, fmt, "digit", category, label, boxes, info)


def digits(per_category: int, seed: int, categories: Sequence[str] = DIGIT_CATEGORIES) -> list[Sample]:
    """`per_category` single digits of each category; sample i of a category has label str(i % 10)."""
    return [make_digit(c, i, seed) for c in categories for i in range(per_category)]
