"""Single-digit conditions: each makes the file (bytes, extension) of one digit as one kind of user sends it."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .paper import INKS, PAPERS, Colour, Line, draw_lines, encode, finish, jpeg, make_paper, paste_ink, photo_page
from .photo import photo
from .writers import glyph, log_uniform, make_writer

File = tuple[bytes, str]  # the encoded image and its extension


def scene_size(g: np.ndarray, margins: list[float]) -> tuple[int, int, int, int]:
    """(H, W, x, y) of a page holding glyph g at (x, y) with margins (left, top, right, bottom; px, negative
    ones crop into the ink)."""
    left, top, right, bottom = [int(round(m)) for m in margins]
    gh, gw = g.shape
    return max(8, gh + top + bottom), max(8, gw + left + right), left, top


def rand_margins(rng: np.random.Generator, h: float, lo: float = 0.12, hi: float = 0.6) -> list[float]:
    return [rng.uniform(lo, hi) * h for _ in range(4)]


def on_paper(ink: np.ndarray, h: float, rng: np.random.Generator, lo: float = 0.12, hi: float = 0.6,
             **paper: float) -> tuple[np.ndarray, int, int]:
    """A plain page around `ink` (a digit h px high), each margin lo-hi digit heights: (the page (H, W, 3),
    the ink's x and y on it). `paper`: `make_paper`'s texture."""
    H, W, gx, gy = scene_size(ink, rand_margins(rng, h, lo, hi))
    return make_paper(rng, H, W, **paper), gx, gy


def written(p: np.ndarray, ink: np.ndarray, x: int, y: int, colour: Colour, rng: np.random.Generator,
            blur: float) -> File:
    """`ink` written on page `p` at (x, y) in `colour`; the page given up to 2% noise and up to `blur` px of
    blur, and encoded (`encode`)."""
    paste_ink(p, ink, x, y, colour)
    return encode(finish(p, rng, rng.uniform(0.0, 0.02), rng.uniform(0, blur)), rng)


def s_ruled(d: int, rng: np.random.Generator) -> File:
    """On ruled paper (lines 0.45-1.1 digit heights apart, most often under the digit), sometimes a margin."""
    w = make_writer(rng)
    h = log_uniform(rng, 28, 280)
    g = glyph(d, w, h, rng)
    p, gx, gy = on_paper(g, h, rng)
    H, W = p.shape[:2]
    sp = h * rng.uniform(0.45, 1.1)
    col = (0.45, 0.62, 0.9) if rng.random() < 0.65 else (0.6, 0.62, 0.68)
    lw = max(1.0, h / rng.uniform(60, 140))
    it = rng.uniform(0.45, 0.85)
    base = gy + g.shape[0] + rng.normal(0, 0.08) * sp if rng.random() < 0.6 else rng.uniform(0, H)
    slope = math.tan(math.radians(rng.uniform(-1.2, 1.2)))
    lines = []
    k0 = -int((base + W * abs(slope)) / sp) - 1
    for k in range(k0, int(H / sp) + 3):
        y = base + k * sp
        lines.append(Line(-2, y, W + 2, y + slope * (W + 4), lw, it, col))
    if rng.random() < 0.35:  # a red margin line (or two), near or through the digit
        mx = rng.uniform(gx - 0.3 * h, gx + g.shape[1] + 0.2 * h)
        mx = float(np.clip(mx, 1, W - 2))
        for dx in ([0] if rng.random() < 0.7 else [0, lw * 3 + 2]):
            lines.append(Line(mx + dx, -2, mx + dx, H + 2, lw, rng.uniform(0.5, 0.8), (0.9, 0.35, 0.35)))
    draw_lines(p, lines)
    return written(p, g, gx, gy, INKS[w.ink], rng, 0.6)


def s_graph(d: int, rng: np.random.Generator) -> File:
    """On squared paper (squares 0.2-0.7 digit heights), sometimes every fifth line bold."""
    w = make_writer(rng)
    h = log_uniform(rng, 28, 280)
    g = glyph(d, w, h, rng)
    p, gx, gy = on_paper(g, h, rng)
    H, W = p.shape[:2]
    c = max(5.0, h * rng.uniform(0.2, 0.7))
    col = [(0.5, 0.68, 0.92), (0.62, 0.64, 0.68), (0.55, 0.8, 0.6)][rng.integers(3)]
    lw = max(0.8, h / rng.uniform(120, 220))
    it = rng.uniform(0.4, 0.8)
    bold5 = rng.random() < 0.3
    ox, oy = rng.uniform(0, c), rng.uniform(0, c)
    lines = []
    for k in range(-1, int(W / c) + 2):
        x = ox + k * c
        lines.append(Line(x, -2, x, H + 2, lw * (2 if bold5 and k % 5 == 0 else 1), it, col))
    for k in range(-1, int(H / c) + 2):
        y = oy + k * c
        lines.append(Line(-2, y, W + 2, y, lw * (2 if bold5 and k % 5 == 0 else 1), it, col))
    draw_lines(p, lines)
    return written(p, g, gx, gy, INKS[w.ink], rng, 0.6)


def _rect_lines(x0: float, y0: float, x1: float, y1: float, lw: float, it: float,
                col: tuple[float, float, float]) -> list[Line]:
    return [Line(x0, y0, x1, y0, lw, it, col), Line(x1, y0, x1, y1, lw, it, col),
            Line(x1, y1, x0, y1, lw, it, col), Line(x0, y1, x0, y0, lw, it, col)]


def s_box(d: int, rng: np.random.Generator) -> File:
    """In a printed box (thin or thick lines), the digit touching its side one time in three."""
    w = make_writer(rng)
    h = log_uniform(rng, 26, 260)
    g = glyph(d, w, h, rng)
    gh, gw = g.shape
    col = [(0.1, 0.1, 0.1), (0.2, 0.3, 0.7), (0.5, 0.5, 0.52)][rng.integers(3)]
    lw = max(1.0, h / rng.uniform(50, 120)) if rng.random() < 0.6 else max(2.5, h / rng.uniform(12, 30))
    touch = rng.random() < 0.35
    bh = gh * rng.uniform(1.05, 1.6)
    bw = max(gw * rng.uniform(1.1, 1.8), bh * rng.uniform(0.75, 1.1))
    # the glyph's position in the box (its interior's origin at 0, 0)
    gx_in = rng.uniform(0, max(0, bw - gw)) if not touch else 0
    gy_in = rng.uniform(0.2, 0.8) * max(0, bh - gh)
    if touch:
        side = rng.integers(4)  # left, right, top, bottom
        if side == 0:
            gx_in = -rng.uniform(0, 0.5) * lw
        elif side == 1:
            gx_in = bw - gw + rng.uniform(0, 0.5) * lw
        elif side == 2:
            gy_in = -rng.uniform(0, 0.5) * lw
            gx_in = (bw - gw) / 2
        else:
            gy_in = bh - gh + rng.uniform(0, 0.5) * lw
            gx_in = (bw - gw) / 2
    mo = [rng.uniform(0, 0.3) * h if rng.random() < 0.8 else lw / 2 + 1 for _ in range(4)]  # outside the box
    bx0, by0 = mo[0] + lw / 2, mo[1] + lw / 2
    W = int(round(bx0 + bw + lw / 2 + mo[2]))
    H = int(round(by0 + bh + lw / 2 + mo[3]))
    p = make_paper(rng, H, W)
    draw_lines(p, _rect_lines(bx0, by0, bx0 + bw, by0 + bh, lw, rng.uniform(0.7, 1), col))
    return written(p, g, int(round(bx0 + gx_in)), int(round(by0 + gy_in)), INKS[w.ink], rng, 0.6)


def s_cells(d: int, rng: np.random.Generator) -> File:
    """In a cell of a form's row of cells, or above a comb (ticks rising from a line); the crop shows parts of
    the neighbouring cells."""
    w = make_writer(rng)
    h = log_uniform(rng, 24, 220)
    g = glyph(d, w, h, rng)
    gh, gw = g.shape
    ch = gh / rng.uniform(0.55, 0.85)
    cw = max(ch * rng.uniform(0.7, 1.05), gw * 1.25)
    comb = rng.random() < 0.5
    col = [(0.15, 0.15, 0.15), (0.3, 0.4, 0.75), (0.55, 0.55, 0.6), (0.85, 0.45, 0.3)][rng.integers(4)]
    lw = max(1.0, h / rng.uniform(40, 110))
    it = rng.uniform(0.6, 1.0)
    # the crop extends into the neighbouring cells by a fraction of the cell
    el, er = rng.uniform(0.08, 0.3) * cw, rng.uniform(0.08, 0.3) * cw
    et, eb = rng.uniform(0.05, 0.35) * ch, rng.uniform(0.05, 0.35) * ch
    W = int(round(el + cw + er))
    H = int(round(et + ch + eb))
    x0, y0 = el, et
    walls = [x0 + k * cw for k in range(-2, 4)]
    if comb:
        rng.uniform(0.25, 0.5)  # a draw that goes unused; it keeps the images those of the first version
        tooth = ch * (1 - rng.uniform(0.25, 0.5))
        lines = [Line(x, y0 + ch, x, y0 + tooth, lw, it, col) for x in walls]
        lines.append(Line(-2, y0 + ch, W + 2, y0 + ch, lw, it, col))
    else:
        lines = [Line(x, y0, x, y0 + ch, lw, it, col) for x in walls]
        lines += [Line(-2, y0, W + 2, y0, lw, it, col), Line(-2, y0 + ch, W + 2, y0 + ch, lw, it, col)]
    p = make_paper(rng, H, W)
    draw_lines(p, lines)
    gx = x0 + (cw - gw) / 2 + rng.normal(0, 0.06) * (cw - gw)
    if comb:
        gy = y0 + ch - gh - rng.uniform(0.03, 0.15) * ch
    else:
        gy = y0 + (ch - gh) / 2 + rng.normal(0, 0.1) * (ch - gh)
    return written(p, g, int(round(gx)), int(round(gy)), INKS[w.ink], rng, 0.6)


def s_photo(d: int, rng: np.random.Generator) -> File:
    """A phone photo (1000-2000 px) of a page, the digit 8%-20% of its shorter side."""
    w = make_writer(rng)
    W = int(rng.integers(1000, 2001))
    H = int(W * rng.choice([0.75, 4 / 3, rng.uniform(0.7, 1.4)]))
    h = min(W, H) * rng.uniform(0.08, 0.20)
    return photographed(glyph(d, w, h, rng), INKS[w.ink], W, H, rng)


def photographed(ink: np.ndarray, colour: Colour, W: int, H: int,
                 rng: np.random.Generator) -> File:
    """`ink` (alpha, h x w) written in `colour` somewhere in the middle of a W x H page, photographed
    (a phone's JPEG, quality 70-92)."""
    gh, gw = ink.shape
    gx = int(rng.uniform(0.2, 0.8) * (W - gw))
    gy = int(rng.uniform(0.2, 0.8) * (H - gh))
    p = photo_page(rng, W, H)
    paste_ink(p, ink, gx, gy, colour)
    im = photo(p, rng, (gx, gy, gx + gw, gy + gh))
    return jpeg(im, int(rng.integers(70, 93)))


def s_pencil(d: int, rng: np.random.Generator) -> File:
    """A gentler photo (300-1000 px) of a big pencil digit, rarely with the desk in view."""
    w = make_writer(rng, ink="pencil")
    W = int(rng.integers(300, 1000))
    H = int(W * rng.uniform(0.75, 1.33))
    h = min(W, H) * rng.uniform(0.25, 0.6)
    g = glyph(d, w, h, rng)
    gh, gw = g.shape
    gx = int(rng.uniform(0.25, 0.75) * (W - gw))
    gy = int(rng.uniform(0.25, 0.75) * (H - gh))
    p = photo_page(rng, W, H, ruled_p=0.2)
    paste_ink(p, g, gx, gy, INKS["pencil"], strength=rng.uniform(0.8, 1.0))
    im = photo(p, rng, (gx, gy, gx + gw, gy + gh), desk=rng.random() < 0.25, strength=0.7)
    return jpeg(im, int(rng.integers(75, 95)))


def s_colpen(d: int, rng: np.random.Generator) -> File:
    """In red, green, blue ballpoint or purple ink on white paper."""
    ink = ["red", "green", "ballpoint", "purple"][rng.integers(4)]
    w = make_writer(rng, ink=ink)
    h = log_uniform(rng, 28, 300)
    g = glyph(d, w, h, rng)
    p, gx, gy = on_paper(g, h, rng)
    return written(p, g, gx, gy, INKS[ink], rng, 0.5)


def s_colpaper(d: int, rng: np.random.Generator) -> File:
    """In dark ink on yellow, pink, blue or green paper (sticky notes, index cards)."""
    ink = ["black", "darkblue", "ballpoint"][rng.integers(3)]
    w = make_writer(rng, ink=ink)
    h = log_uniform(rng, 28, 300)
    g = glyph(d, w, h, rng)
    H, W, gx, gy = scene_size(g, rand_margins(rng, h))
    name = list(PAPERS)[rng.integers(len(PAPERS))]
    base = np.array(PAPERS[name]) * rng.uniform(0.9, 1.0)
    p = make_paper(rng, H, W, base=tuple(base), texture=1.5)
    return written(p, g, gx, gy, INKS[ink], rng, 0.5)


def s_tight(d: int, rng: np.random.Generator) -> File:
    """Cropped to the ink: per side up to 4% of the height cut off or 2% left, at least one side touching."""
    w = make_writer(rng)
    h = log_uniform(rng, 28, 300)
    g = glyph(d, w, h, rng)
    m = [rng.uniform(-0.04, 0.02) * h for _ in range(4)]
    k = rng.integers(4)
    m[k] = min(m[k], -rng.uniform(0, 0.03) * h)
    m = [min(x, -0.5) if x < 0 else x for x in m]
    H, W, gx, gy = scene_size(g, m)
    p = make_paper(rng, H, W)
    return written(p, g, gx, gy, INKS[w.ink], rng, 0.5)


def s_sliver(d: int, rng: np.random.Generator) -> File:
    """Cropped from a row of digits: 3%-10% of the ink of a neighbour shows at one edge, a neighbour whose
    edge cannot pass for a whole digit (no full-height stem there)."""
    w = make_writer(rng)
    h = log_uniform(rng, 28, 280)
    g = glyph(d, w, h, rng)
    right = rng.random() < 0.5
    nd = int(rng.choice([0, 2, 3, 5, 6, 8] if not right else [0, 2, 3, 5, 6, 7, 8, 9]))
    n = glyph(nd, w, h * rng.uniform(0.9, 1.1), rng)
    gh, gw = g.shape
    nh, nw = n.shape
    gap = rng.uniform(0.12, 0.4) * h
    col = n.sum(0)
    cum = np.cumsum(col if right else col[::-1]) / max(col.sum(), 1e-6)
    frac = rng.uniform(0.03, 0.1)
    vis = max(2, min(int(np.searchsorted(cum, frac)), int(0.15 * nw)))  # visible columns of the neighbour
    t, b = rng.uniform(0.1, 0.5) * h, rng.uniform(0.1, 0.5) * h
    other = rng.uniform(0.1, 0.5) * h
    H = int(round(t + max(gh, nh) + b))
    if right:
        gx = int(round(other))
        nx = int(round(other + gw + gap))
        W = nx + vis
    else:
        gx = int(round(vis + gap))
        nx = vis - nw
        W = int(round(gx + gw + other))
    gy = int(round(t + (max(gh, nh) - gh) / 2 + rng.normal(0, 0.04) * h))
    ny = int(round(t + (max(gh, nh) - nh) / 2 + rng.normal(0, 0.06) * h))
    p = make_paper(rng, H, W)
    paste_ink(p, g, gx, gy, INKS[w.ink])
    return written(p, n, nx, ny, INKS[w.ink], rng, 0.5)


SINGLES: dict[str, Callable[[int, np.random.Generator], File]] = {
    "ruled": s_ruled, "graph": s_graph, "box": s_box, "cells": s_cells, "photo": s_photo,
    "pencil": s_pencil, "colour_pen": s_colpen, "colour_paper": s_colpaper, "tight_crop": s_tight,
    "neighbour_sliver": s_sliver,
}
