"""Putting ink on a page and turning the page into a file: the pieces the three set builders share.

An `Item` is ink at a position in a scene's own coordinates (px, may be negative); a scene picks the
rectangle of the scene the image shows, makes a page of that size, prints the paper's features, inks the
items, and finishes the page as a scan (`finish_scan`) or a phone photo (`photo.shoot`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from . import paper, photo
from .paper import INKS, PAPERS, Page, jitter
from .sample import encode, scan_format

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 in scene px


@dataclass
class Item:
    alpha: np.ndarray  # ink alpha, cropped
    x: float  # top-left, scene px
    y: float
    digit: bool = True  # gets a box

    @property
    def rect(self) -> Rect:
        return self.x, self.y, self.x + self.alpha.shape[1], self.y + self.alpha.shape[0]


def union(rects: list[Rect]) -> Rect:
    r = np.asarray(rects, np.float64)
    return float(r[:, 0].min()), float(r[:, 1].min()), float(r[:, 2].max()), float(r[:, 3].max())


def pick_paper(rng: np.random.Generator, kind: str = "plain") -> tuple[np.ndarray, str]:
    """A paper colour: "plain" (white, cream or grey) or "coloured" (pastels or kraft)."""
    names = ["white", "white", "cream", "grey"] if kind == "plain" else ["blue", "green", "pink", "yellow", "kraft"]
    name = str(rng.choice(names))
    # Papers differ in brightness more than in hue: a white sheet is never visibly pink.
    colour = np.asarray(PAPERS[name]) * rng.uniform(0.96, 1.03) + rng.normal(0, 0.006 if kind == "plain" else 0.02, 3)
    return np.clip(colour, 0, 1), name


def pick_ink(rng: np.random.Generator, kind: str = "dark") -> tuple[np.ndarray, str]:
    """An ink colour: "dark" (black, blue-black, blue), "coloured" (red, green, blue, purple) or "pencil"."""
    names = {"dark": ["black", "black", "blue-black", "blue"], "coloured": ["red", "green", "blue", "purple"],
             "pencil": ["pencil"], "any": list(INKS)[:-1]}[kind]
    name = str(rng.choice(names))
    return jitter(rng, INKS[name], 0.04), name


def rule(page: Page, rng: np.random.Generator, kind: str, target: Rect, height: float) -> dict:
    """Print ruling ("ruled") or a grid ("squared") whose lines cross `target` (page px), a digit of
    `height` px: writers size their digits to the ruling, so the spacing follows the digit."""
    x0, y0, x1, y1 = target
    if kind == "ruled":
        if rng.random() < 0.6:  # a digit taller than the ruling: lines through its body
            # (A flat target, a dash, is shorter than the margins: a line 0.2 of the height below its top.)
            low, high = y0 + 0.2 * height, y1 - 0.05 * height
            spacing, through = rng.uniform(0.45, 0.95) * height, rng.uniform(low, max(low, high))
        else:  # written on the line: it crosses the digit's foot
            spacing, through = rng.uniform(0.6, 1.3) * height, y1 - rng.uniform(-0.05, 0.15) * height
        return paper.ruled(page, rng, max(6.0, spacing), through)
    if kind == "squared":
        spacing = max(5.0, rng.uniform(0.22, 0.75) * height)
        return paper.squared(page, rng, spacing, (rng.uniform(x0, x1), rng.uniform(y0, y1)))
    return {}


def box(page: Page, rng: np.random.Generator, rect: Rect, thickness: float, colour: np.ndarray,
        radius: float = 0.0) -> None:
    """A printed rectangle border, outside edge at `rect` (page px)."""
    x0, y0, x1, y1 = rect
    alpha = paper.outline((x1 - x0, y1 - y0), thickness, radius)
    page.ink(alpha, round(x0), round(y0), colour)


def print_colour(rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """The colour of printed boxes: dark, or a form's colour (forms print in colours scanners drop)."""
    options = {"black": (0.1, 0.1, 0.1), "grey": (0.45, 0.45, 0.47), "blue": (0.3, 0.45, 0.8),
               "red": (0.85, 0.35, 0.35), "green": (0.3, 0.6, 0.4), "orange": (0.95, 0.6, 0.35)}
    name = str(rng.choice(list(options), p=[0.35, 0.15, 0.15, 0.15, 0.1, 0.1]))
    return jitter(rng, options[name], 0.03), name


def ink_items(page: Page, items: list[Item], offset: tuple[float, float], colour: np.ndarray,
              over: bool = False) -> None:
    """Ink every item, shifted by `offset` (scene -> page px), left to right."""
    for item in sorted(items, key=lambda i: i.x):
        page.ink(item.alpha, round(item.x + offset[0]), round(item.y + offset[1]), colour, digit=item.digit,
                 over=over)


def skew(page: Page, rng: np.random.Generator) -> tuple[Page, tuple, float]:
    """The page turned a little about its centre (a scan is never quite square to the paper): (turned page,
    boxes after the turn, degrees). The corners it uncovers take the paper's colour."""
    degrees = float(rng.normal(0, 1.5))
    w, h = page.size
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    # output px -> page px: turn about the centre
    h_fp = np.array([[c, -s, w / 2 - c * w / 2 + s * h / 2], [s, c, h / 2 - s * w / 2 - c * h / 2], [0, 0, 1]])
    fill = tuple(int(v) for v in page.rgb[0, 0])
    rgb = Image.fromarray(page.rgb).transform((w, h), Image.Transform.PERSPECTIVE, tuple(h_fp.ravel()[:8]),
                                               Image.Resampling.BILINEAR, fillcolor=fill)
    return Page(np.asarray(rgb).copy()), photo.warp_boxes(page, h_fp, (w, h)), degrees


def finish(page: Page, rng: np.random.Generator, texture: float = 0.02,
           turn: bool = True) -> tuple[bytes, str, tuple, dict]:
    """A page as a scan or a crop someone saved, a quarter of them turned a degree or two (unless not
    `turn`: a crop right to the ink): (file bytes, format, boxes, info)."""
    boxes, info = page.boxes(), {}
    if turn and rng.random() < 0.25:
        page, boxes, degrees = skew(page, rng)
        info["skew_deg"] = round(degrees, 2)
    pixels = paper.finish_scan(page, rng, texture)
    fmt, quality = scan_format(rng)
    if fmt != "PNG":
        info["quality"] = quality
    return encode(pixels, fmt, quality), fmt, boxes, info


def finish_photo(page: Page, h_fp: np.ndarray, frame: tuple[int, int], rng: np.random.Generator,
                 grey: bool = False) -> tuple[bytes, str, tuple, dict]:
    """A page as a phone photo: JPEG, quality 60-92, sometimes stored turned with an EXIF orientation."""
    pixels, boxes, info = photo.shoot(page, h_fp, frame, rng, grey)
    quality = int(rng.integers(60, 93))
    orientation = int(rng.choice([1, 6, 8, 3], p=[0.7, 0.15, 0.1, 0.05]))
    info.update(quality=quality, exif_orientation=orientation, frame=list(frame))
    return encode(pixels, "JPEG", quality, orientation), "JPEG", boxes, info


def photo_page(rng: np.random.Generator, items: list[Item], paper_colour: np.ndarray,
               frame: tuple[int, int]) -> tuple[Page, np.ndarray, tuple[float, float], dict]:
    """Plan a photo of `items` in a frame of (w, h) px: (blank page, frame -> page homography, scene -> page
    offset, info). The items land anywhere but the very middle, wholly inside the frame."""
    h_fp, size = photo.plan(rng, frame)
    x0, y0, x1, y1 = union([i.rect for i in items]) if items else (0.0, 0.0, 1.0, 1.0)
    half = np.array([(x1 - x0) / 2, (y1 - y0) / 2]) / frame + 0.04
    lo, hi = np.maximum(0.15, half), np.minimum(0.85, 1 - half)
    for _ in range(8):  # off-centre: redraw what falls in the middle tenth
        target = rng.uniform(lo, np.maximum(lo, hi))
        if np.abs(target - 0.5).max() > 0.1:
            break
    target = target * frame
    centre = photo.apply(h_fp, target[None])[0]
    offset = (centre[0] - (x0 + x1) / 2, centre[1] - (y0 + y1) / 2)
    page = paper.blank(size, paper_colour)
    return page, h_fp, offset, {"photo_target": [round(float(t) / f, 2) for t, f in zip(target, frame,
                                                                                                 strict=True)]}


PAD_STYLES = ("pad-dark", "pad-light", "pad-transparent")


def pad_size(rng: np.random.Generator, wide: bool = True) -> tuple[int, int]:
    """A web drawing pad's canvas (w, h): about 3:1 for numbers (600x200 to 900x300), else square-ish."""
    if wide:
        w = int(rng.integers(540, 961))
        return w, int(w / rng.uniform(2.6, 3.4))
    side = int(rng.choice([200, 256, 280, 300, 400, 480, 512]))
    return side, int(side * rng.choice([1.0, 1.0, 0.75, 1.25]))


def pad(items: list[Item], canvas: tuple[int, int], style: str, rng: np.random.Generator,
        offset: tuple[float, float]) -> tuple[bytes, str, tuple, dict]:
    """A drawing pad's export: exact colours, no noise. "pad-dark": dark strokes on white; "pad-light":
    light on black; "pad-transparent": RGBA PNG, opaque strokes, the transparent pixels holding whatever
    colour the canvas held (black, white, the stroke's, or another)."""
    dark = np.clip(rng.uniform(0, 0.12) + rng.normal(0, 0.02, 3), 0, 1)
    light = np.ones(3) if rng.random() < 0.7 else np.clip(1 - rng.uniform(0, 0.06) + rng.normal(0, 0.005, 3), 0, 1)
    page = paper.blank(canvas, np.zeros(3) if style != "pad-dark" else light)
    if style == "pad-dark":
        ink_items(page, items, offset, dark, over=True)
        return encode(page.rgb, "PNG"), "PNG", page.boxes(), {"pad": style}
    ink_items(page, items, offset, np.ones(3), over=True)  # white on black: channel 0 is the alpha
    if style == "pad-light":
        rgb = np.rint(page.rgb * (light / np.ones(3))).astype(np.uint8)
        return encode(rgb, "PNG"), "PNG", page.boxes(), {"pad": style}
    alpha = page.rgb[..., :1]
    stroke = np.rint(dark * 255).astype(np.uint8)
    hidden_name = str(rng.choice(["black", "white", "stroke", "other"]))
    hidden = {"black": np.zeros(3), "white": np.ones(3), "stroke": dark, "other": rng.uniform(0, 1, 3)}[hidden_name]
    rgb = np.where(alpha > 0, stroke, np.rint(hidden * 255).astype(np.uint8)).astype(np.uint8)
    return encode(np.dstack([rgb, alpha]), "PNG"), "PNG", page.boxes(), {"pad": style, "hidden_rgb": hidden_name}


def on_paper(items: list[Item], rng: np.random.Generator, height: float, kind: str = "plain",
             margin: tuple[float, float] = (0.15, 0.8), crisp: bool = False) -> tuple[bytes, str, tuple, dict]:
    """`items` written on paper ("plain", "ruled" or "squared"), cropped with margins of `margin` times the
    height, scanned. `crisp`: PNG and no blur (gaps of a pixel must survive)."""
    paper_colour, paper_name = pick_paper(rng)
    ink, ink_name = pick_ink(rng, "dark" if rng.random() < 0.8 else "coloured")
    rect = union([i.rect for i in items])
    m = rng.uniform(*margin, 4) * height
    x0, y0 = int(np.floor(rect[0] - m[0])), int(np.floor(rect[1] - m[1]))
    size = (int(rect[2] + m[2]) - x0, int(rect[3] + m[3]) - y0)
    page = paper.blank(size, paper_colour)
    offset = (-x0, -y0)
    digits = [i for i in items if i.digit] or items
    target = union([(i.rect[0] - x0, i.rect[1] - y0, i.rect[2] - x0, i.rect[3] - y0) for i in digits])
    info = {"paper": paper_name, "ink": ink_name, **rule(page, rng, kind, target, height)}
    ink_items(page, items, offset, ink)
    if crisp:
        pixels = paper.finish_scan(page, rng, 0.01, blur=False)
        return encode(pixels, "PNG"), "PNG", page.boxes(), info
    data, fmt, boxes, more = finish(page, rng, rng.uniform(0.01, 0.03))
    return data, fmt, boxes, {**info, **more}


def photographed(items: list[Item], rng: np.random.Generator, frame: tuple[int, int], height: float,
                 kind: str = "plain", ink_kind: str = "dark") -> tuple[bytes, str, tuple, dict]:
    """`items` (sized for a frame of (w, h) px) written on paper ("plain", "ruled", "squared") in ink of
    `ink_kind`, photographed with a phone."""
    paper_colour, paper_name = pick_paper(rng)
    ink, ink_name = pick_ink(rng, ink_kind)
    page, h_fp, offset, info = photo_page(rng, items, paper_colour, frame)
    digits = [i for i in items if i.digit] or items
    target = union([(i.rect[0] + offset[0], i.rect[1] + offset[1], i.rect[2] + offset[0], i.rect[3] + offset[1])
                    for i in digits]) if items else (offset[0], offset[1], offset[0] + height, offset[1] + height)
    info.update({"paper": paper_name, "ink": ink_name, **rule(page, rng, kind, target, height)})
    ink_items(page, items, offset, ink)
    if rng.random() < 0.4:
        info.update(photo.desk_edge(page, h_fp, frame, rng))
    data, fmt, boxes, more = finish_photo(page, h_fp, frame, rng)
    return data, fmt, boxes, {**info, **more}
