"""Number conditions: each makes the file (bytes, extension) of a whole number of 2-6 digits as written."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from .paper import INKS, Line, draw_lines, finish, paste_ink, png
from .single_conditions import File, on_paper, photographed, written
from .writers import Writer, glyph, log_uniform, make_writer


def random_number(rng: np.random.Generator) -> str:
    """2-6 random digits, one time in seven or so with a leading zero."""
    n = int(rng.integers(2, 7))
    s = "".join(str(int(rng.integers(10))) for _ in range(n))
    if rng.random() < 0.15:
        s = "0" + s[1:]
    return s


def _touch_offset(a: np.ndarray, b: np.ndarray, dy: float) -> float:
    """How far (px) right of a's left edge b's left edge goes for the two masks to just touch, b placed dy px
    lower than bottom-aligned with a; 60% of a's width when they share no row."""
    ah, aw = a.shape
    bh = b.shape[0]
    thr = 0.1
    boff = int(round(ah - bh - dy))  # b's top row in a's rows
    ar = np.full(ah, -1e9)  # per row, a's rightmost ink column
    for r in range(ah):
        xs = np.nonzero(a[r] > thr)[0]
        if len(xs):
            ar[r] = xs.max()
    br = np.full(bh, 1e9)  # per row, b's leftmost ink column
    for r in range(bh):
        xs = np.nonzero(b[r] > thr)[0]
        if len(xs):
            br[r] = xs.min()
    best = -1e9
    for r in range(bh):
        ra = r + boff
        for q in (ra - 1, ra, ra + 1):  # rows next to each other count too, so diagonal neighbours touch
            if 0 <= q < ah and ar[q] > -1e8 and br[r] < 1e8:
                best = max(best, ar[q] - br[r] + 1)
    if best < -1e8:
        best = aw * 0.6
    return best


def _baselines(rng: np.random.Generator, n: int, h: float, mode: str) -> list[float]:
    """Per digit, where its bottom goes (px): on a slightly sloping line with jitter, or (varsize) on a
    sloping, curved and jittery one."""
    if mode == "varsize":
        slope = rng.uniform(-0.15, 0.15) * h
        curve = rng.uniform(-0.2, 0.2) * h
        return [slope * i + curve * ((i - (n - 1) / 2) / max(1, n / 2)) ** 2 + rng.normal(0, 0.07) * h
                for i in range(n)]
    slope = rng.uniform(-0.04, 0.04) * h
    return [slope * i + rng.normal(0, 0.03) * h for i in range(n)]


def compose_number(label: str, w: Writer, h: float, rng: np.random.Generator, mode: str = "normal",
                   canvas_style: bool = False) -> np.ndarray:
    """Float32 alpha of the number written by w, digits about h px high. mode: "normal", "gaps" (neighbours
    1-3 px apart at their closest) or "varsize" (sizes 0.7-1.35 h on a wavy baseline)."""
    gl = []
    for ch in label:
        s = h * rng.uniform(0.94, 1.06)
        if mode == "varsize":
            s = h * rng.uniform(0.7, 1.35)
        gl.append(glyph(int(ch), w, s, rng, canvas_style))
    n = len(gl)
    bases = _baselines(rng, n, h, mode)
    xs = [0]
    for i in range(1, n):
        a, b = gl[i - 1], gl[i]
        if mode == "gaps":
            gap = int(rng.integers(1, 4))
            # closest approach of 1-3 px, but no deep nesting of one digit under the other's overhang
            off = max(_touch_offset(a, b, bases[i - 1] - bases[i]) + gap,
                      a.shape[1] - 0.3 * min(a.shape[1], b.shape[1]))
            xs.append(xs[-1] + off)
        else:
            xs.append(xs[-1] + a.shape[1] + rng.uniform(0.06, 0.35) * h)
    ys = [bases[i] - gl[i].shape[0] for i in range(n)]
    mx, my = min(xs), min(ys)
    xs = [int(round(x - mx)) for x in xs]
    ys = [int(round(y - my)) for y in ys]
    W = max(x + g.shape[1] for x, g in zip(xs, gl, strict=True))
    H = max(y + g.shape[0] for y, g in zip(ys, gl, strict=True))
    out = np.zeros((H, W), np.float32)
    for x, y, g in zip(xs, ys, gl, strict=True):
        gh, gw = g.shape
        out[y:y + gh, x:x + gw] = np.maximum(out[y:y + gh, x:x + gw], g)
    return out


def n_plain(label: str, rng: np.random.Generator) -> File:
    """In pen on white paper, 24-110 px high."""
    w = make_writer(rng)
    h = log_uniform(rng, 24, 110)
    a = compose_number(label, w, h, rng)
    p, gx, gy = on_paper(a, h, rng, 0.15, 0.7)
    return written(p, a, gx, gy, INKS[w.ink], rng, 0.5)


def n_ruled(label: str, rng: np.random.Generator) -> File:
    """On ruled paper, written on a line, sometimes beside a red margin."""
    w = make_writer(rng)
    h = log_uniform(rng, 24, 110)
    a = compose_number(label, w, h, rng)
    p, gx, gy = on_paper(a, h, rng, 0.2, 0.8)
    H, W = p.shape[:2]
    sp = h * rng.uniform(0.9, 1.5)
    col = (0.45, 0.62, 0.9) if rng.random() < 0.65 else (0.6, 0.62, 0.68)
    lw = max(1.0, h / rng.uniform(50, 110))
    base = gy + a.shape[0] - 0.03 * h + rng.normal(0, 0.05) * h
    lines = [Line(-2, y, W + 2, y, lw, rng.uniform(0.5, 0.8), col) for y in np.arange(base - 5 * sp, H + sp, sp)]
    if rng.random() < 0.3:
        mx = rng.uniform(2, max(3, gx * 0.8))
        lines.append(Line(mx, -2, mx, H + 2, lw, 0.7, (0.9, 0.35, 0.35)))
    draw_lines(p, lines)
    return written(p, a, gx, gy, INKS[w.ink], rng, 0.5)


def n_photo(label: str, rng: np.random.Generator) -> File:
    """A phone photo (1000-2000 px) of a page, digits 6%-15% of its shorter side (the number at most 80% of
    the width)."""
    w = make_writer(rng)
    W = int(rng.integers(1000, 2001))
    H = int(W * rng.choice([0.75, 4 / 3, rng.uniform(0.7, 1.4)]))
    h = min(W, H) * rng.uniform(0.06, 0.15)
    a = compose_number(label, w, h, rng)
    if a.shape[1] > 0.8 * W:
        h *= 0.8 * W / a.shape[1]
        a = compose_number(label, w, h, rng)
    return photographed(a, INKS[w.ink], W, H, rng)


def n_canvas(label: str, rng: np.random.Generator) -> File:
    """Drawn with a mouse on a web canvas (520-700 x 170-240 px, brush 10-20 px): white on black or black on
    white, no paper."""
    w = make_writer(rng, source="skel")
    w.wobble = rng.uniform(0, 0.008)
    w.jit = rng.uniform(0.015, 0.04)
    W = int(rng.integers(520, 700))
    H = int(rng.integers(170, 240))
    brush = float(rng.uniform(10, 20))
    h = H * rng.uniform(0.5, 0.78)
    for _ in range(6):  # shrink until it fits in 92% of the canvas
        w.pen = min(brush / h, 0.2)
        a = compose_number(label, w, h, rng, canvas_style=True)
        if a.shape[1] <= 0.92 * W and a.shape[0] <= 0.92 * H:
            break
        h *= min(0.92 * W / a.shape[1], 0.92 * H / a.shape[0], 0.95)
    gh, gw = a.shape
    gx = int(rng.uniform(0.1, 0.9) * (W - gw))
    gy = int(rng.uniform(0.2, 0.8) * (H - gh))
    if rng.random() < 0.5:  # white on black
        img = np.zeros((H, W), np.float32)
        img[gy:gy + gh, gx:gx + gw] = a
    else:
        img = np.ones((H, W), np.float32)
        img[gy:gy + gh, gx:gx + gw] = 1 - a
    return png(Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8), "L").convert("RGB"))


def n_gaps(label: str, rng: np.random.Generator) -> File:
    """Neighbouring digits 1-3 px apart at their closest, in pen (pencil replaced by black) on smooth paper."""
    w = make_writer(rng)
    h = log_uniform(rng, 30, 110)
    a = compose_number(label, w, h, rng, mode="gaps")
    p, gx, gy = on_paper(a, h, rng, 0.15, 0.6, texture=0.6)
    paste_ink(p, a, gx, gy, INKS[w.ink] if w.ink != "pencil" else INKS["black"])
    return png(finish(p, rng, rng.uniform(0, 0.01), 0))


def n_varsize(label: str, rng: np.random.Generator) -> File:
    """Digits of varied sizes on a sloping, curved baseline."""
    w = make_writer(rng)
    h = log_uniform(rng, 28, 100)
    a = compose_number(label, w, h, rng, mode="varsize")
    p, gx, gy = on_paper(a, h, rng, 0.15, 0.6)
    return written(p, a, gx, gy, INKS[w.ink], rng, 0.5)


NUMBERS: dict[str, Callable[[str, np.random.Generator], File]] = {
    "plain": n_plain, "ruled": n_ruled, "photo": n_photo, "canvas": n_canvas, "near_touching": n_gaps,
    "varsize_baseline": n_varsize,
}
