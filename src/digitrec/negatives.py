"""Images that are not one digit, generated in MNIST form, to teach a model to say "not a digit".

Outlier exposure (Hendrycks et al., 2019): a model trained against varied negatives, here as an 11th
class, refuses what it has not seen far better than one judged by its confidence alone. Each negative
is drawn at 84 px and brought to the 28x28 exactly as a user's image would be (`preprocess.
ink_to_mnist`), so the model sees negatives as recognition will show them: letters (from the fonts
matplotlib ships and from pen strokes), symbols, scribbles and tangles, hatching, shapes, arrows,
ticks and crosses, two digits side by side, two MNIST training digits laid over each other, and
(`--negative-halves`) halves and quarters of different MNIST digits joined (none that still reads
as a digit). Letters a person could read as a digit (O, o, Q, D, l, I, i, j, S, s, Z, z, B, b, g,
q) are never drawn.
numpy and Pillow only; deterministic in the seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .errors import DigitrecError
from .preprocess import ink_to_mnist

SIZE = 84  # px: the drawing canvas; strokes are drawn at 2x and averaged down
# C and c are drawn: an open 0 is rare, and users write letters. Greek letters a digit has no likeness to.
LETTERS = "ACEFGHJKLMNPRTUVWXYacdefhkmnprtuvwxyλπΣΩµε"
# ! keeps its dot in MNIST form (a font's dot is too heavy to be a speck); | and / stay out: they are a 1.
SYMBOLS = "+=×÷%#@&$?!*€£<>~^±√≠≈©¥¢§¶∞"
FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSerif.ttf",
         "DejaVuSerif-Italic.ttf", "DejaVuSansMono.ttf", "STIXGeneral.ttf", "STIXGeneralItalic.ttf")
Points = list[tuple[float, float]]


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, n: int = 12) -> Points:
    """Points of an elliptic arc in a unit box (y down), from `start` to `end` degrees (0: right, 90: down)."""
    t = np.radians(np.linspace(start, end, n))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in t]


# Pen skeletons of letters and symbols in a unit box (x right, y down), one list of strokes each.
STROKES: dict[str, list[Points]] = {
    "A": [[(0.1, 1), (0.5, 0), (0.9, 1)], [(0.27, 0.6), (0.73, 0.6)]],
    "E": [[(0.8, 0), (0.2, 0), (0.2, 1), (0.8, 1)], [(0.2, 0.5), (0.65, 0.5)]],
    "F": [[(0.8, 0), (0.2, 0), (0.2, 1)], [(0.2, 0.5), (0.65, 0.5)]],
    "H": [[(0.2, 0), (0.2, 1)], [(0.8, 0), (0.8, 1)], [(0.2, 0.5), (0.8, 0.5)]],
    "K": [[(0.2, 0), (0.2, 1)], [(0.8, 0), (0.2, 0.55)], [(0.35, 0.45), (0.85, 1)]],
    "M": [[(0.1, 1), (0.15, 0), (0.5, 0.6), (0.85, 0), (0.9, 1)]],
    "N": [[(0.2, 1), (0.2, 0), (0.8, 1), (0.8, 0)]],
    "P": [[(0.2, 1), (0.2, 0), (0.7, 0.05), (0.8, 0.25), (0.7, 0.45), (0.2, 0.5)]],
    "R": [[(0.2, 1), (0.2, 0), (0.7, 0.05), (0.8, 0.25), (0.7, 0.45), (0.2, 0.5), (0.85, 1)]],
    "T": [[(0.1, 0), (0.9, 0)], [(0.5, 0), (0.5, 1)]],
    "U": [[(0.2, 0), (0.2, 0.75), (0.5, 1), (0.8, 0.75), (0.8, 0)]],
    "V": [[(0.1, 0), (0.5, 1), (0.9, 0)]],
    "W": [[(0.05, 0), (0.27, 1), (0.5, 0.35), (0.73, 1), (0.95, 0)]],
    "X": [[(0.15, 0), (0.85, 1)], [(0.85, 0), (0.15, 1)]],
    "Y": [[(0.15, 0), (0.5, 0.5), (0.85, 0)], [(0.5, 0.5), (0.5, 1)]],
    "e": [[(0.2, 0.6), (0.8, 0.6), (0.75, 0.35), (0.5, 0.3), (0.2, 0.5), (0.25, 0.9), (0.5, 1), (0.8, 0.9)]],
    "h": [[(0.25, 0), (0.25, 1)], [(0.25, 0.55), (0.5, 0.4), (0.75, 0.55), (0.75, 1)]],
    "k": [[(0.25, 0), (0.25, 1)], [(0.75, 0.35), (0.25, 0.7)], [(0.4, 0.6), (0.8, 1)]],
    "m": [[(0.1, 1), (0.1, 0.4)], [(0.1, 0.55), (0.3, 0.4), (0.5, 0.55), (0.5, 1)],
          [(0.5, 0.55), (0.7, 0.4), (0.9, 0.55), (0.9, 1)]],
    "n": [[(0.25, 1), (0.25, 0.4)], [(0.25, 0.55), (0.5, 0.4), (0.75, 0.55), (0.75, 1)]],
    "r": [[(0.3, 1), (0.3, 0.4)], [(0.3, 0.6), (0.5, 0.42), (0.75, 0.42)]],
    "u": [[(0.25, 0.4), (0.25, 0.85), (0.5, 1), (0.75, 0.85)], [(0.75, 0.4), (0.75, 1)]],
    "w": [[(0.05, 0.4), (0.27, 1), (0.5, 0.55), (0.73, 1), (0.95, 0.4)]],
    "x": [[(0.2, 0.4), (0.8, 1)], [(0.8, 0.4), (0.2, 1)]],
    "y": [[(0.2, 0.4), (0.5, 0.8)], [(0.8, 0.4), (0.35, 1.15)]],
    "+": [[(0.5, 0.1), (0.5, 0.9)], [(0.1, 0.5), (0.9, 0.5)]],
    "=": [[(0.1, 0.35), (0.9, 0.35)], [(0.1, 0.65), (0.9, 0.65)]],
    "#": [[(0.35, 0), (0.3, 1)], [(0.7, 0), (0.65, 1)], [(0.1, 0.33), (0.9, 0.33)], [(0.1, 0.67), (0.9, 0.67)]],
    "*": [[(0.5, 0.1), (0.5, 0.9)], [(0.15, 0.3), (0.85, 0.7)], [(0.85, 0.3), (0.15, 0.7)]],
    "%": [[(0.85, 0.05), (0.15, 0.95)], [(0.2, 0.1), (0.35, 0.1), (0.35, 0.3), (0.2, 0.3), (0.2, 0.1)],
          [(0.65, 0.7), (0.8, 0.7), (0.8, 0.9), (0.65, 0.9), (0.65, 0.7)]],
    "?": [[(0.2, 0.2), (0.5, 0), (0.8, 0.2), (0.75, 0.4), (0.5, 0.55), (0.5, 0.75)], [(0.5, 0.92), (0.5, 0.97)]],
    "tick": [[(0.1, 0.55), (0.4, 0.95), (0.95, 0.05)]],
    "cross": [[(0.1, 0.1), (0.9, 0.9)], [(0.9, 0.1), (0.1, 0.9)]],
    "triangle": [[(0.5, 0.05), (0.95, 0.95), (0.05, 0.95), (0.5, 0.05)]],
    "square": [[(0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9), (0.1, 0.1)]],
    "diamond": [[(0.5, 0), (1, 0.5), (0.5, 1), (0, 0.5), (0.5, 0)]],
    "star": [[(0.5, 0), (0.62, 0.38), (1, 0.38), (0.69, 0.6), (0.81, 1), (0.5, 0.76), (0.19, 1), (0.31, 0.6),
              (0, 0.38), (0.38, 0.38), (0.5, 0)]],
    "heart": [[(0.5, 1), (0.1, 0.55), (0.05, 0.25), (0.25, 0.05), (0.5, 0.25), (0.75, 0.05), (0.95, 0.25),
               (0.9, 0.55), (0.5, 1)]],
    # Letters and symbols whose curves come nearest a digit's without being one: an open C beside a 0 or a
    # 6, a d or an a beside a 9, a written E (as an epsilon) beside a 3, a $ beside a 5 or an 8.
    "C": [arc(0.55, 0.5, 0.45, 0.5, -40, -320)],
    "c": [arc(0.55, 0.7, 0.35, 0.3, -35, -325)],
    "a": [arc(0.45, 0.7, 0.3, 0.3, -20, -340), [(0.78, 0.4), (0.78, 0.9), (0.88, 1)]],
    "d": [arc(0.45, 0.7, 0.3, 0.3, -20, -340), [(0.78, 0), (0.78, 1)]],
    "t": [[(0.45, 0), (0.45, 0.85), (0.6, 1), (0.8, 0.92)], [(0.15, 0.3), (0.8, 0.3)]],
    "f": [[(0.85, 0.08), (0.65, 0), (0.47, 0.12), (0.45, 1)], [(0.15, 0.42), (0.78, 0.42)]],
    "L": [[(0.2, 0), (0.2, 1), (0.85, 1)]],
    "ε": [arc(0.55, 0.27, 0.35, 0.25, -20, -270) + arc(0.55, 0.75, 0.4, 0.25, -90, -340)],
    "λ": [[(0.15, 0), (0.35, 0.05), (0.9, 1)], [(0.55, 0.45), (0.1, 1)]],
    "π": [[(0.05, 0.15), (0.95, 0.1)], [(0.32, 0.12), (0.25, 1)], [(0.7, 0.1), (0.78, 1)]],
    "$": [arc(0.5, 0.3, 0.35, 0.2, -20, -270) + arc(0.5, 0.7, 0.35, 0.2, -90, 160), [(0.5, 0), (0.5, 1)]],
    "&": [[(0.9, 1), (0.3, 0.4), (0.25, 0.15), (0.45, 0), (0.62, 0.15), (0.5, 0.35), (0.15, 0.65), (0.2, 0.9),
           (0.45, 1), (0.85, 0.6)]],
    "<": [[(0.85, 0.1), (0.15, 0.5), (0.85, 0.9)]],
    ">": [[(0.15, 0.1), (0.85, 0.5), (0.15, 0.9)]],
    "^": [[(0.1, 0.75), (0.5, 0.15), (0.9, 0.75)]],
    "~": [[(0.05, 0.6), (0.25, 0.4), (0.5, 0.5), (0.75, 0.6), (0.95, 0.4)]],
    "≠": [[(0.1, 0.35), (0.9, 0.35)], [(0.1, 0.65), (0.9, 0.65)], [(0.7, 0.05), (0.3, 0.95)]],
    "€": [arc(0.6, 0.5, 0.4, 0.5, -45, -315), [(0.05, 0.4), (0.6, 0.4)], [(0.05, 0.6), (0.6, 0.6)]],
    "£": [[(0.78, 0.15), (0.6, 0), (0.4, 0.05), (0.35, 0.3), (0.35, 0.85), (0.15, 1), (0.85, 1)],
          [(0.12, 0.5), (0.62, 0.5)]],
    "√": [[(0.05, 0.6), (0.2, 0.52), (0.4, 1), (0.6, 0), (1, 0)]],
}


@cache
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    import matplotlib

    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name), size)


def _smooth(p: np.ndarray, rounds: int = 2) -> np.ndarray:
    """Chaikin corner cutting: a polyline -> a smooth curve near it."""
    for _ in range(rounds):
        a, b = p[:-1], p[1:]
        p = np.concatenate([p[:1], np.stack([0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b], 1).reshape(-1, 2), p[-1:]])
    return p


def draw_strokes(strokes: list[Points], rng: np.random.Generator, smooth: bool = True,
                 slant: tuple[float, float] = (-0.25, 0.25), aspect: tuple[float, float] = (0.7, 1.2),
                 pen: tuple[float, float] = (0.05, 0.13)) -> np.ndarray:
    """Ink (SIZE, SIZE) float 0..1 of pen strokes in a unit box, in a random hand: slant (x shift of the top
    per unit height), aspect (width scale), wobble, and pen width (of the box), each drawn from its range."""
    scale = 2
    image = Image.new("L", (SIZE * scale, SIZE * scale), 0)
    draw = ImageDraw.Draw(image)
    slant, aspect = rng.uniform(*slant), rng.uniform(*aspect)
    pen = rng.uniform(*pen) * SIZE * scale * 0.7
    for stroke in strokes:
        p = np.asarray(stroke, dtype=np.float64) + rng.normal(0, 0.02, (len(stroke), 2))
        p[:, 0] = 0.5 + (p[:, 0] - 0.5) * aspect + slant * (0.5 - p[:, 1])
        p = _smooth(p) if smooth and len(p) > 2 else p
        xy = [tuple(q) for q in (p * 0.7 + 0.15) * SIZE * scale]
        draw.line(xy, fill=255, width=max(1, round(pen)), joint="curve")
        for x, y in (xy[0], xy[-1]):
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=255)
    return np.asarray(image.reduce(scale), dtype=np.float32) / 255


def render(text: str, font: str) -> Image.Image:
    """A character in one of FONTS, white on black, centred in the SIZE x SIZE canvas."""
    image = Image.new("L", (SIZE, SIZE), 0)
    ImageDraw.Draw(image).text((SIZE / 2, SIZE / 2), text, font=_font(font, int(SIZE * 0.6)), fill=255, anchor="mm")
    return image


def glyph(text: str, rng: np.random.Generator) -> np.ndarray:
    """Ink of a character in a random font, slightly rotated."""
    image = render(text, FONTS[rng.integers(len(FONTS))])
    if not image.getbbox():  # STIX lacks some symbols: DejaVu has them all
        image = render(text, FONTS[0])
    return np.asarray(image.rotate(rng.uniform(-15, 15), Image.Resampling.BILINEAR), dtype=np.float32) / 255


def letter(rng: np.random.Generator) -> np.ndarray:
    chars = [c for c in LETTERS if c in STROKES]
    if rng.random() < 0.5:
        return glyph(str(rng.choice(list(LETTERS))), rng)
    return draw_strokes(STROKES[str(rng.choice(chars))], rng)


def symbol(rng: np.random.Generator) -> np.ndarray:
    names = ["+", "=", "#", "*", "%", "?", "tick", "cross", "$", "&", "<", ">", "^", "~", "≠", "€", "£", "√"]
    if rng.random() < 0.5:
        return glyph(str(rng.choice(list(SYMBOLS))), rng)
    return draw_strokes(STROKES[str(rng.choice(names))], rng)


def shape(rng: np.random.Generator) -> np.ndarray:
    names = ["triangle", "square", "diamond", "star", "heart"]
    if rng.random() < 0.2:  # a spiral
        t = np.linspace(0, rng.uniform(3, 5) * math.pi, 60)
        r = t / t.max() * 0.5
        return draw_strokes([list(zip(0.5 + r * np.cos(t), 0.5 + r * np.sin(t), strict=True))], rng, smooth=False)
    return draw_strokes(STROKES[str(rng.choice(names))], rng, smooth=False)


def scribble(rng: np.random.Generator) -> np.ndarray:
    n = int(rng.integers(6, 16))
    points = rng.uniform(0, 1, (n, 2))
    if rng.random() < 0.4:  # a zigzag or a loop chain
        x = np.linspace(0, 1, n)
        points = np.stack([x, 0.5 + 0.4 * np.sign(np.sin(np.arange(n) * math.pi / 2 + 0.5))], 1)
        points += rng.normal(0, 0.05, points.shape)
    return draw_strokes([[tuple(p) for p in points]], rng)


def hatching(rng: np.random.Generator) -> np.ndarray:
    n, angle = int(rng.integers(3, 9)), rng.uniform(0, math.pi)
    d = np.array([math.cos(angle), math.sin(angle)]) * 0.45
    normal = np.array([-d[1], d[0]]) / 0.45
    strokes = [[tuple(0.5 + o * normal - d), tuple(0.5 + o * normal + d)] for o in np.linspace(-0.4, 0.4, n)]
    if rng.random() < 0.4:  # cross-hatched
        strokes += [[(a[1], a[0]), (b[1], b[0])] for a, b in strokes]
    return draw_strokes(strokes, rng, smooth=False)


def arrow(rng: np.random.Generator) -> np.ndarray:
    """A straight or bent arrow pointing anywhere, sometimes with a head at both ends."""
    angle = rng.uniform(0, 2 * math.pi)
    tip = np.array([0.5 + 0.45 * math.cos(angle), 0.5 + 0.45 * math.sin(angle)])
    tail = 1 - tip
    # a bend: the shaft's middle pushed sideways by up to a third of its length
    middle = (tip + tail) / 2 + np.array([tail[1] - tip[1], tip[0] - tail[0]]) * rng.uniform(-0.35, 0.35) * (
        rng.random() < 0.4)
    shaft = [tail, 0.5 * (tail + middle), middle, 0.5 * (middle + tip), tip]
    strokes = [[tuple(p) for p in shaft]]
    for end, before in [(tip, shaft[-2])] + ([(tail, shaft[1])] if rng.random() < 0.25 else []):
        back = (before - end) / np.linalg.norm(before - end) * 0.3
        heads = [end + np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) @ back
                 for a in (0.5, -0.5)]
        strokes.append([tuple(heads[0]), tuple(end), tuple(heads[1])])
    return draw_strokes(strokes, rng, smooth=False)


def _mnist_ink(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return images[rng.integers(len(images))].astype(np.float32) / 255


def digit_pair(rng: np.random.Generator, images: np.ndarray) -> np.ndarray:
    """Two MNIST training digits side by side, as a written number."""
    a, b = _mnist_ink(images, rng), _mnist_ink(images, rng)
    gap = int(rng.integers(0, 6))
    return np.concatenate([a[:, 2:-2], np.zeros((28, gap), np.float32), b[:, 2:-2]], axis=1)


def recombined(rng: np.random.Generator, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Two MNIST digits of different classes laid over each other, a little apart: a tangle."""
    i, j = rng.integers(len(images), size=2)
    while labels[j] == labels[i]:
        j = rng.integers(len(images))
    a, b = images[i].astype(np.float32) / 255, images[j].astype(np.float32) / 255
    return np.maximum(a, np.roll(b, int(rng.integers(-5, 6)), axis=int(rng.integers(2))))


# Halves that make a clean digit whatever digit the other half came from: a 9's top on a 4's stem is
# a 9, a 3's top on a 5's bowl a 3. Halves from the same group are never joined.
_HALF_GROUPS = {"top": ("089", "237", "14", "5", "6"), "bottom": ("1479", "35", "068", "2"),
                "left": ("068", "237", "1", "4", "5", "9"), "right": ("0389", "1", "7", "2", "4", "56")}


def _group(digit: int, half: str) -> int:
    return next(i for i, members in enumerate(_HALF_GROUPS[half]) if str(digit) in members)


class DigitLikeness:
    """A nearest-neighbour reader without a model: whether a 28x28 image is as close to some MNIST
    training digit as most real digits are (the 2nd percentile of held-out digits' nearest similarity).
    Images are centred by their centre of mass and pooled to 14x14, so a pixel's shift does not count."""

    def __init__(self, images: np.ndarray, rng: np.random.Generator) -> None:
        pick = rng.permutation(len(images))
        refs = min(10000, len(images) * 9 // 10)  # the rest (at most 1,000) sets the threshold
        self.reference = self.vectors(images[pick[:refs]])
        held_out = self.vectors(images[pick[refs:refs + 1000]])
        self.threshold = float(np.quantile((held_out @ self.reference.T).max(1), 0.02))

    @staticmethod
    def vectors(images: np.ndarray) -> np.ndarray:
        """28x28 images (N, 28, 28) -> vectors (N, 196): each shifted so its centre of mass is at the
        middle (as MNIST's own are), pooled to 14x14, and normalised to zero mean and unit length."""
        x = images.astype(np.float32)
        total = x.sum((1, 2)) + 1e-6
        grid = np.arange(28, dtype=np.float32)
        dy = np.rint(13.5 - (x.sum(2) @ grid) / total).astype(int)
        dx = np.rint(13.5 - (x.sum(1) @ grid) / total).astype(int)
        x = np.stack([np.roll(image, (y, c), (0, 1)) for image, y, c in zip(x, dy, dx, strict=True)])
        v = x.reshape(len(x), 14, 2, 14, 2).mean((2, 4)).reshape(len(x), -1)
        v -= v.mean(1, keepdims=True)
        return v / (np.linalg.norm(v, axis=1, keepdims=True) + 1e-6)

    def __call__(self, image: np.ndarray) -> bool:
        return bool((self.vectors(image[None]) @ self.reference.T).max() >= self.threshold)


def stitched(rng: np.random.Generator, images: np.ndarray, labels: np.ndarray, digit_like: DigitLikeness) -> np.ndarray:
    """The top of one MNIST digit on the bottom of another, a left half beside a right half, or four
    quarters, from digits whose halves differ; one that still reads as a digit is drawn again."""
    for _ in range(50):
        mode, cut = int(rng.integers(3)), int(rng.integers(12, 17))
        i, j, k, m = rng.integers(len(images), size=4)
        a, b = int(labels[i]), int(labels[j])
        x, y = images[i], images[j]
        if mode == 0 and _group(a, "top") != _group(b, "top") and _group(a, "bottom") != _group(b, "bottom"):
            made = np.concatenate([x[:cut], y[cut:]])
        elif mode == 1 and _group(a, "left") != _group(b, "left") and _group(a, "right") != _group(b, "right"):
            made = np.concatenate([x[:, :cut], y[:, cut:]], 1)
        elif mode == 2 and len({a, b, int(labels[k]), int(labels[m])}) == 4:
            made = np.block([[x[:cut, :cut], y[:cut, cut:]], [images[k][cut:, :cut], images[m][cut:, cut:]]])
        else:
            continue
        if (made > 100).sum() >= 40 and not digit_like(made):
            return made.astype(np.float32) / 255
    return recombined(rng, images, labels)


def generate(count: int, seed: int, images: np.ndarray, labels: np.ndarray, halves: bool = False) -> np.ndarray:
    """`count` negatives in MNIST form, uint8 (count, 28, 28). `images`/`labels`: MNIST training digits
    (uint8 (N, 28, 28), (N,)) for the pairs and recombinations. `halves`: two kinds in 13 are `stitched`
    halves (without them the pool is the one the shipped model was trained on)."""
    kinds: list[Callable[[np.random.Generator], np.ndarray]] = [
        letter, letter, letter, symbol, symbol, shape, scribble, hatching, arrow,
        lambda r: digit_pair(r, images), lambda r: recombined(r, images, labels)]
    if halves:
        digit_like = DigitLikeness(images, np.random.default_rng([seed, 2**31]))
        kinds += [lambda r: stitched(r, images, labels, digit_like)] * 2
    out = np.zeros((count, 28, 28), np.uint8)
    made = 0
    for index in range(count * 2):
        if made == count:
            break
        rng = np.random.default_rng([seed, index])
        ink = kinds[index % len(kinds)](rng)
        try:
            out[made] = ink_to_mnist(ink)
        except DigitrecError:  # drawn too small or empty: draw another
            continue
        made += 1
    return out[:made]
