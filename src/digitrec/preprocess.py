"""Any image of a digit -> the 28x28 MNIST form the models were trained on. numpy and Pillow only.

MNIST digits are white on black, anti-aliased, scaled so the longest side of the ink is 20 px
(keeping aspect), and centred by centre of mass in a 28x28 field. `to_mnist` finds the ink
(`ink.find_ink`), drops specks, crops to the ink, brings the stroke width into MNIST's range and
centres it (`ink_to_mnist`, which `segment` uses for each digit of a number too). This is the single
preprocessing path of the CLI, the Python API and the server.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from .errors import DigitrecError
from .gray import wide_scale
from .imageops import morph, pad, paint_runs, run_boxes, run_components
from .images import ImageSource, check_finite, describe, load_image
from .ink import WORK_SIDE, Ink, find_ink
from .judgement import Verdict

SPECK = 0.05  # blobs with less than 5% of the largest blob's ink are specks (noise, dust)
NEAR = 0.12  # a blob this close to the digit (a fraction of its size) is part of it,
SPRAWL = 2.0  # ...unless it is more than this many times as big
EDGE_WEIGHT = 0.25  # a blob touching the image's edge weighs this much when the digit is chosen
# A blob as wide as most of the image (RULE_SPAN of its width) and under RULE_FLAT as tall as wide is what
# a ruling left (a photo's curved line, broken into segments): it weighs RULE_WEIGHT when the digit is chosen.
RULE_SPAN, RULE_FLAT, RULE_WEIGHT = 0.8, 0.25, 0.01
HUG = 0.3  # ...and so does one as flat along one edge of the image, running this fraction of it
RIVAL = 0.3  # a blob beside the digit with this fraction of its ink may be another digit
SLIVER = 0.6  # a blob cut by the left or right edge beside the digit, with less of its ink, is a neighbour's
# Ink spanning fewer px than this (at analysis resolution, before denoising blurred it) is a dot,
# not a digit: 3 px, or 1.5% of the image's longest side (8 px on a 512 px image).
MIN_EXTENT, MIN_EXTENT_FRACTION = 3, 0.015
# A dot under the writing's lowest end (a ! or a ?): DOT_GAP below it (of its height), at most DOT_SIZE of its
# height and DOT_ROUND times as long as wide, its darkest cell at least DOT_PEAK of the writing's darkest.
DOT_GAP, DOT_SIZE, DOT_ROUND, DOT_PEAK = (0.05, 0.45), 0.4, 2.5, 0.5

Selection = tuple[np.ndarray, "Verdict | None"]  # (the digit's ink or 28x28, what the ink beside it tells)
FIELD, BOX, SUPER = 28, 20, 4  # output field, ink box, and the supersampling factor used to render
# Measured on MNIST training digits: the mean centre of mass is (13.996, 14.007) in pixel index
# coordinates of the 28x28; and the stroke width (stroke_width() of the 4x ink box built here, in
# output px) of 3000 of them run through this preprocessing has 5th, 50th and 95th percentiles 1.55,
# 2.10 and 3.21 px. Inputs outside that range have their strokes grown or shrunk to the median.
COM = 14.0
MAX_RADIUS = 10  # px at SUPER x: strokes change by at most 2.5 output px per side
WIDTH_THIN, WIDTH_MEDIAN, WIDTH_THICK = 1.55, 2.10, 3.21
# The slant (`slant`) of MNIST's training digits: 5th, 50th and 95th percentiles -0.57, -0.10 and 0.34.
# A digit leaning outside LEAN is rare in what the models learnt from; UPRIGHT is where `upright` brings it.
LEAN, UPRIGHT = (-0.57, 0.34), -0.10
NO_DIGIT_HINT = "pass an image with a visible digit"


def as_mnist(source: ImageSource, name: str | None = None) -> np.ndarray:
    """An input already in MNIST form (28x28, white digit on black), passed through as uint8."""
    name = name or describe(source)
    if isinstance(source, np.ndarray) and source.shape == (FIELD, FIELD) and source.dtype == np.uint8:
        return source
    image = load_image(source, name=name)
    if image.size != (FIELD, FIELD):
        raise DigitrecError(name, f"is {image.width}x{image.height}, but without preprocessing the input must "
                            "be a 28x28 MNIST-form image (white digit on black)", "drop --no-preprocess",
                            kind="unreadable")
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        x = np.asarray(image.convert("F"), dtype=np.float32)
        check_finite(x, name)
        return np.rint(np.clip(x / wide_scale(image), 0, 1) * 255).astype(np.uint8)
    return np.asarray(image.convert("L"), dtype=np.uint8)


def to_mnist(source: ImageSource, name: str | None = None) -> np.ndarray:
    """Any image of one digit -> uint8 (28, 28), white on black, in MNIST form.

    Raises DigitrecError: kind "no-digit" if the image holds no ink, another kind if it cannot be read."""
    return analyse(source, name)[0]


def analyse(source: ImageSource, name: str | None = None) -> Selection:
    """(to_mnist's 28x28, what the ink beside the digit tells: `select_digit`'s verdict or None)."""
    name = name or describe(source)
    image = source if isinstance(source, Image.Image) else load_image(source, name=name)
    return ink_form(digit_ink(image, name), name)


def digit_ink(image: Image.Image, name: str, work_side: int = WORK_SIDE, pieces: bool = False) -> Ink:
    """The ink map of a decoded image (`ink.find_ink`); a "no-digit" DigitrecError when it holds none."""
    ink = find_ink(image, name, work_side, pieces)
    if ink is None:
        raise DigitrecError(name, "no digit found (the image is blank or uniform)", NO_DIGIT_HINT, kind="no-digit")
    return ink


def ink_form(ink: Ink, name: str) -> Selection:
    """`analyse` of an ink map found at WORK_SIDE: (the digit's 28x28, `select_digit`'s verdict)."""
    return _digit_form(ink.map, ink.denoise_radius, name)


def ink_to_mnist(ink: np.ndarray, blur: int = 0, name: str = "<image>", select: bool = True,
                 upright: bool = False) -> np.ndarray:
    """An ink map (H, W) float in 0..1 holding one digit -> uint8 (28, 28) in MNIST form. `blur`: px
    of smoothing already applied to the map, which widened every blob by that much. `select`: choose
    the digit among the map's blobs first (False: the map holds only the digit's ink, as `segment`
    cuts it). `upright`: shear the digit so that it leans as MNIST's median digit does."""
    return _digit_form(ink, blur, name, select, upright)[0]


def slant(ink: np.ndarray) -> float:
    """How far a digit leans: columns moved per row down, from its ink's second moments (x right, y
    down; negative when its top leans right, as most handwriting does). 0 for no ink."""
    return _lean(ink)[0]


def _lean(ink: np.ndarray) -> tuple[float, float]:
    """(`slant`, the row of the ink's centre of mass; 0 for no ink)."""
    mass = float(ink.sum())
    if mass <= 0:
        return 0.0, 0.0
    ys, xs = np.arange(ink.shape[0], dtype=np.float64), np.arange(ink.shape[1], dtype=np.float64)
    by_row, by_col = ink.sum(1, dtype=np.float64), ink.sum(0, dtype=np.float64)
    cy, cx = float(by_row @ ys) / mass, float(by_col @ xs) / mass
    spread = float(by_row @ (ys - cy) ** 2)
    return (float((ys - cy) @ ink.astype(np.float64) @ (xs - cx)) / spread if spread > 0 else 0.0), cy


def leans(ink: np.ndarray) -> bool:
    """Whether a digit leans further than nearly all of MNIST's (outside LEAN)."""
    return not LEAN[0] <= slant(ink) <= LEAN[1]


def upright_crop(crop: np.ndarray) -> np.ndarray:
    """A digit's crop (H, W) sheared along its rows to lean by UPRIGHT, cropped to its ink again."""
    h, w = crop.shape
    lean, cy = _lean(crop)
    shear = lean - UPRIGHT
    # Output column x' of row y takes input column x' - room + shear * (y - cy): rows above the centre
    # move against the lean, rows below with it; `room` keeps every output column >= 0.
    room = max(shear * -cy, shear * (h - 1 - cy))
    width = math.ceil(w + abs(shear) * h) + 1
    image = Image.fromarray(np.asarray(crop, dtype=np.float32))
    out = np.asarray(image.transform((width, h), Image.Transform.AFFINE, (1, shear, -shear * cy - room, 0, 1, 0),
                                     resample=Image.Resampling.BILINEAR), dtype=np.float32)
    cols = np.flatnonzero(out.max(0) > 0)
    return out[:, cols[0]:cols[-1] + 1] if cols.size else crop


def _digit_form(ink: np.ndarray, blur: int, name: str, select: bool = True,
                upright: bool = False) -> Selection:
    ink, aside = select_digit(ink) if select else (ink, None)
    inked = ink != 0  # then any() of bools: 1.5x faster than any() of the floats
    rows, cols = np.flatnonzero(inked.any(1)), np.flatnonzero(inked.any(0))
    if not rows.size:
        raise DigitrecError(name, "no digit found (the ink map is empty)", NO_DIGIT_HINT, kind="no-digit")
    extent = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 - 2 * blur
    if extent < max(MIN_EXTENT, MIN_EXTENT_FRACTION * max(ink.shape)):
        raise DigitrecError(name, f"no digit found (only a speck of ink, {extent} px across)", NO_DIGIT_HINT,
                            kind="no-digit")
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    big = _scale_to_box(upright_crop(crop) if upright else crop)
    out = _center(_normalise_stroke(big))
    return np.rint(out * (255.0 / max(float(out.max()), 1e-6))).astype(np.uint8), aside


def _normalise_stroke(big: np.ndarray) -> np.ndarray:
    """Too thin (a fine pen on a big canvas) or too thick (a marker on a small one): grow or shrink the
    strokes at SUPER x resolution toward MNIST's median width, then crop and scale again."""
    width = stroke_width(big) / SUPER
    radius = round((WIDTH_MEDIAN - width) * SUPER / 2) if width < WIDTH_THIN else 0
    radius = -round((width - WIDTH_MEDIAN) * SUPER / 2) if width > WIDTH_THICK else radius
    radius = max(-MAX_RADIUS, min(radius, MAX_RADIUS))
    if not radius:
        return big
    r = abs(radius)
    grown = morph(pad(big, (r, r), (r, r)), radius)
    rows, cols = np.flatnonzero(grown.max(1) > 0.02), np.flatnonzero(grown.max(0) > 0.02)
    if not rows.size:  # shrinking can erase a digit made of dots; then keep it as it was
        return big
    return _scale_to_box(grown[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])


def stroke_width(x: np.ndarray) -> float:
    """Mean stroke width in px: twice the ink divided by its total variation (ink boundary length),
    the array's edges counting as boundary."""
    x = pad(np.asarray(x, dtype=np.float32), (1, 1), (1, 1))
    tv = np.abs(np.diff(x, axis=0)).sum() + np.abs(np.diff(x, axis=1)).sum()
    return float(2 * x.sum() / max(float(tv), 1e-6))


def _cells(ink: np.ndarray) -> tuple[np.ndarray, int]:
    """(the ink summed in cells of a grid of at most 64x64, the cell size in px). On the grid, strokes a few
    pixels apart (the bar of a 5) are one blob."""
    h, w = ink.shape
    c = max(1, math.ceil(max(h, w) / 64))
    gh, gw = math.ceil(h / c), math.ceil(w / c)
    padded = ink if (gh * c, gw * c) == (h, w) else pad(ink, (0, gh * c - h), (0, gw * c - w))
    # Sums of c x c cells as sums of c strided slices per axis, in place: 10x faster than summing a reshape.
    rows = padded[::c].copy()
    for i in range(1, c):
        rows += padded[i::c]
    cells = rows[:, ::c].copy()
    for j in range(1, c):
        cells += rows[:, j::c]
    return cells, c


def _gap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> int:
    """Cells between two boxes (rows y0..y1, columns x0..x1), 0 when they touch or overlap."""
    return max(0, a[0] - b[1] - 1, b[0] - a[1] - 1, a[2] - b[3] - 1, b[2] - a[3] - 1)


def select_digit(ink: np.ndarray) -> Selection:
    """The digit among the blobs of an ink map: the heaviest blob and the blobs near it (a 5's flag,
    a 4 in two strokes). Specks, a printed label above a box, a tick of a form's cell and a sliver
    of the neighbouring digit at the edge are dropped. Also what the rest tells: "several-digits"
    where another digit-like blob stands beside it, "not-a-digit" where a dot stands under it (a ! or
    a ?), else None."""
    cells, c = _cells(ink)
    runs, run_labels = run_components(cells > 0)
    if run_labels.max(initial=0) <= 1:  # one blob or none (most drawings): no image of the labels needed
        return ink, None
    labels = paint_runs(cells.shape, runs, run_labels)
    mass = np.bincount(labels.ravel(), weights=cells.ravel())
    boxes = dict(enumerate(map(tuple, run_boxes(runs, run_labels).tolist())))
    del boxes[0]
    gh, gw = labels.shape
    # Ink along the image's edge is more often a neighbour's sliver, the paper's edge or a shadow than
    # the digit: it counts for less when choosing the digit (a tight crop's digit still wins, alone).
    weight = np.array([1.0] + [_weight(boxes[label], gh, gw) for label in range(1, len(mass))])
    # Chosen by heft (the sum of its cells' squared ink), not ink: faint speckle (a shadow's ragged
    # remnant, a grid's crossings) spreads as much ink as the digit, but thinly over many cells.
    heft = np.bincount(labels.ravel(), weights=np.square(cells).ravel())
    main = int(np.argmax((heft * weight)[1:])) + 1
    keep, group = {main}, boxes[main]
    for _ in range(3):  # pieces join the group; a piece near a joined piece may join next round
        size = max(group[1] - group[0] + 1, group[3] - group[2] + 1)
        reach = NEAR * size
        for label, box in boxes.items():
            # Cut by the left or right edge, beside the digit (sharing none of its columns) and lighter:
            # a neighbour's sliver (a tight crop's digit in two strokes has two as heavy).
            sliver = ((box[2] == 0 or box[3] == gw - 1) and (box[2] > group[3] or box[3] < group[2])
                      and mass[label] < SLIVER * mass[main])
            # Nor does a piece far bigger than the digit join it (a shadow's speckle all around it).
            sprawls = max(box[1] - box[0], box[3] - box[2]) + 1 > SPRAWL * size
            if (label not in keep and mass[label] >= SPECK * mass[main] and _gap(box, group) <= reach
                    and not sliver and not sprawls):
                keep.add(label)
                group = (min(group[0], box[0]), max(group[1], box[1]), min(group[2], box[2]), max(group[3], box[3]))
    kept = np.zeros(len(mass), bool)  # per label: a lookup, 5x faster than np.isin
    kept[list(keep)] = True
    chosen = kept[labels]
    h, w = ink.shape
    # A blob at the left or right edge may be a neighbour's sliver, never a rival; one at the top or
    # bottom edge may be a digit written up to the pad's edge.
    rivals = [label for label, box in boxes.items() if label not in keep and box[2] > 0 and box[3] < gw - 1
              and _rival(box, mass[label], group, mass[main])]
    aside: Verdict | None = "several-digits" if rivals else (
        "not-a-digit" if _dot_under(labels, boxes, mass, cells, main) else None)
    return ink * np.repeat(np.repeat(chosen, c, 0), c, 1)[:h, :w], aside


def _dot_under(labels: np.ndarray, boxes: dict[int, tuple[int, int, int, int]], mass: np.ndarray,
               cells: np.ndarray, main: int) -> bool:
    """Whether the writing is one stroke or curve with a dot under its lowest end, apart from it, as a !
    or a ? is: the dot as dark as the writing and at least SPECK of its ink (not dust), under DOT_SIZE
    of its height and round (its box under DOT_ROUND times as long as wide), DOT_GAP below it; and no
    other blob but specks. Without its dot (a speck, to `select_digit`), a ! reads as a 1, a ? as a 7."""
    body = boxes[main]
    height = body[1] - body[0] + 1
    ends = np.flatnonzero(labels[body[1]] == main)  # the body's columns in its lowest row
    others = [label for label in boxes if label != main and mass[label] >= SPECK * mass[main]]
    if len(others) != 1:
        return False
    y0, y1, x0, x1 = boxes[others[0]]
    tall, wide = y1 - y0 + 1, x1 - x0 + 1
    gap = y0 - body[1] - 1
    return (max(1, DOT_GAP[0] * height) <= gap <= DOT_GAP[1] * height and max(tall, wide) <= DOT_SIZE * height
            and max(tall, wide) <= DOT_ROUND * min(tall, wide) and x0 <= ends[-1] + wide and x1 >= ends[0] - wide
            and float(cells[labels == others[0]].max()) >= DOT_PEAK * float(cells[labels == main].max()))


def _weight(box: tuple[int, int, int, int], gh: int, gw: int) -> float:
    """How much a blob's ink counts when the digit is chosen (box: rows y0..y1, columns x0..x1 of a
    gh x gw grid)."""
    width, height = box[3] - box[2] + 1, box[1] - box[0] + 1
    if width >= RULE_SPAN * gw and height <= RULE_FLAT * width:
        return RULE_WEIGHT
    # A thin strip along one edge, not across to the opposite one: what a shadow, a vignette's dark
    # corner or the desk left along the frame, or a margin line's remnant.
    # Within a cell of the edge counts as on it: a shadow's remnant is cut a cell short of it as often.
    top, left, bottom, right = box[0] <= 1, box[2] <= 1, box[1] >= gh - 2, box[3] >= gw - 2
    along_side = left != right and height >= HUG * gh and width <= RULE_FLAT * height
    along_end = top != bottom and width >= HUG * gw and height <= RULE_FLAT * width
    if along_side or along_end:
        return RULE_WEIGHT
    return EDGE_WEIGHT if (top or left or bottom or right) else 1.0


def _rival(box: tuple[int, int, int, int], mass: float, group: tuple[int, int, int, int], main: float) -> bool:
    """Whether a blob left out beside the digit looks like another digit: as heavy and tall as one
    (not far taller: a margin line's remains from top to bottom), level with it, and apart from it
    sideways (the 2 of "42")."""
    height, group_height = box[1] - box[0] + 1, group[1] - group[0] + 1
    level = min(box[1], group[1]) - max(box[0], group[0]) + 1 >= 0.5 * min(height, group_height)
    apart = box[2] > group[3] or box[3] < group[2]
    return mass >= RIVAL * main and 0.5 * group_height <= height <= SPRAWL * group_height and level and apart


def _scale_to_box(crop: np.ndarray) -> np.ndarray:
    """Resize so the longest side is SUPER * BOX px (anti-aliased), keeping the aspect ratio."""
    h, w = crop.shape
    s = SUPER * BOX / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BILINEAR), dtype=np.float32)


def _center(big: np.ndarray) -> np.ndarray:
    """Place `big` (SUPER x resolution) so its centre of mass lands on MNIST's, then box-average
    SUPER x SUPER blocks down to the 28x28 field."""
    n = FIELD * SUPER
    mass = max(float(big.sum()), 1e-6)
    cy = float((big.sum(1) * np.arange(big.shape[0])).sum()) / mass
    cx = float((big.sum(0) * np.arange(big.shape[1])).sum()) / mass
    # Output pixel i covers supersampled pixels SUPER*i .. SUPER*i + SUPER-1, centred on SUPER*i + 1.5.
    target = COM * SUPER + (SUPER - 1) / 2
    oy, ox = round(target - cy), round(target - cx)
    canvas = np.zeros((n, n), np.float32)
    y0, x0 = max(oy, 0), max(ox, 0)
    y1, x1 = min(oy + big.shape[0], n), min(ox + big.shape[1], n)
    canvas[y0:y1, x0:x1] = big[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
    return _block_means(canvas.reshape(FIELD, SUPER, FIELD, SUPER))


def _block_means(blocks: np.ndarray) -> np.ndarray:
    """blocks.mean((1, 3)) of (FIELD, SUPER, FIELD, SUPER) float32, in the order numpy sums them (along
    each row of a block, then the rows' sums down it), 4x faster than numpy's reduction."""
    rows = blocks[..., 0] + blocks[..., 1]  # (FIELD, SUPER, FIELD)
    for j in range(2, SUPER):
        rows += blocks[..., j]
    out = rows[:, 0] + rows[:, 1]
    for i in range(2, SUPER):
        out += rows[:, i]
    out /= np.float32(SUPER * SUPER)
    return out
