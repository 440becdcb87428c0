"""Boxes around the writing, found as pieces of ink rather than as lines: a ring spanning half the
image or more with writing in its holes (as a box small in a photo is, in the closer view of it), and
a box at any angle, small in its image, even where the writing touches it. `paper` removes them
before it looks for lines.

The long-line search (`lines`, `printed`) finds a box whose sides are long beside the image and within
a few degrees of level. A box photographed small in a big frame, or turned, or one a digit's stroke
touches (then the two are one piece) is found here from its shape: one piece whose outline with its
holes fills its tightest rectangle, inked all along that rectangle's edges in a thin band, with
writing inside. A 0 fills its outline's rectangle as an ellipse does (pi/4) and holds nothing; an 8
touches its rectangle's edges only at its extremes. Pieces are found on 2x2 blocks (half the time; a
box and the writing it holds stay apart), then the rings' pixels of the mask are taken. numpy only.
"""

from __future__ import annotations

import numpy as np

from .imageops import among, label_components, pad, paint_runs, run_boxes, run_components

ENCLOSED = 0.15  # a ring around other ink with this fraction of its own ink is a box around the writing,
SPAN = 0.6  # ...when it spans this fraction of the image both ways,
LONE_SPAN, LONE = 0.45, 0.25  # ...or this fraction, with under LONE of its ink outside it
SMALLEST = 6  # blocks: a box at any angle is at least this big both ways,
SMALL = 0.4  # ...and under this fraction of the image both ways (`paper.MIN_LINE`: longer boxes' sides are lines)
SHARE = 0.25  # only pieces with at least this fraction of the largest piece's ink are looked at
ANGLES = np.deg2rad(np.arange(-25, 25.5, 1.0))  # the turns searched for the tightest rectangle
FILLED = 0.85  # a box's outline (with its holes) fills at least this fraction of its tightest rectangle,
UPRIGHT_BOX = 0.5  # ...which, turned up to 25 degrees, fills at least this fraction of its upright box
COVERED = 0.9  # ...and ink lies in the band along at least this fraction of each side
THIN = 0.2  # a box's band is at most this fraction of its smaller side thick


def boxes_around(mask: np.ndarray) -> np.ndarray:
    """The pixels of `mask` (H, W) bool that are boxes around the writing (see the module)."""
    h, w = mask.shape
    blocks = pad(mask, (0, h % 2), (0, w % 2)) if h % 2 or w % 2 else mask  # the OR below makes a new array
    # Pairs of rows ORed, then pairs of columns as the bytes of one uint16: 3x faster than ORing 4 strided views.
    blocks = (blocks[0::2] | blocks[1::2]).view(np.uint16) != 0
    runs, label = run_components(blocks)
    count = int(label.max(initial=0))
    if not count:
        return np.zeros_like(mask)
    if count == 1:  # one piece (most drawings): no ring around others; a box at an angle only if small
        # Its extent from its runs (in raster order), not from the pixels: no image of labels unless small.
        rows, starts, ends = runs
        y0, y1, x0, x1 = int(rows[0]), int(rows[-1]), int(starts.min()), int(ends.max()) - 1
        if not _small((y0, y1), (x0, x1), blocks.shape):
            return np.zeros_like(mask)
        labels = paint_runs(blocks.shape, runs, label)
        sizes = np.array([0, np.count_nonzero(blocks)])
        boxes = np.array([[1, 0, 1, 0], [y0, y1, x0, x1]])
    else:
        labels = paint_runs(blocks.shape, runs, label)
        # Pixels per piece from its runs' lengths: no pass over the image.
        sizes = np.bincount(label, weights=runs[2] - runs[1], minlength=count + 1).astype(np.int64)
        boxes = run_boxes(runs, label)
        sizes[0] = 0
    out = _enclosing(labels, sizes, boxes) | _turned(labels, sizes, boxes)
    if not out.any():
        return np.zeros_like(mask)
    return mask & np.repeat(np.repeat(out, 2, axis=0), 2, axis=1)[:h, :w]


def _enclosing(labels: np.ndarray, sizes: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Pieces spanning SPAN of the image both ways whose holes hold other pieces with at least ENCLOSED of their
    ink, whole (their corners, however round, with them). A 0 is a ring too, but holds no more than a dot.
    A ring spanning only LONE_SPAN is one where little lies outside it (LONE of its ink): a box small in a
    photo, in the closer view of it; a form's cell among others is found with them, as lines."""
    out = np.zeros(labels.shape, bool)
    if labels.max() < 2:
        return out
    heights, widths = boxes[:, 1] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 2] + 1
    spanning = np.flatnonzero((heights >= LONE_SPAN * labels.shape[0]) & (widths >= LONE_SPAN * labels.shape[1]))
    for ring in spanning[spanning > 0].tolist():
        inside = np.unique(labels[_holes(labels == ring)])
        held = sizes[inside[(inside > 0) & (inside != ring)]].sum()
        if held < ENCLOSED * sizes[ring]:
            continue
        wide = heights[ring] >= SPAN * labels.shape[0] and widths[ring] >= SPAN * labels.shape[1]
        if wide or sizes.sum() - sizes[ring] - held <= LONE * sizes[ring]:
            out |= labels == ring
    return out


def _turned(labels: np.ndarray, sizes: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """The bands of the boxes, at any angle and small in the image, among the heavier pieces."""
    out = np.zeros(labels.shape, bool)
    for piece in np.flatnonzero(sizes >= SHARE * sizes.max()).tolist():
        y0, y1, x0, x1 = boxes[piece].tolist()
        if min(y1 - y0, x1 - x0) + 1 < SMALLEST or not _small((y0, y1), (x0, x1), labels.shape):
            continue
        crop = labels[y0:y1 + 1, x0:x1 + 1]
        own = crop == piece
        filled = own | _holes(own)
        if filled.sum() < FILLED * UPRIGHT_BOX * own.size:  # fewer than its tightest rectangle could hold
            continue
        ys, xs = np.nonzero(filled)
        u, v = _tightest(ys.astype(np.float64), xs.astype(np.float64))
        if len(ys) < FILLED * (u.max() + 1) * (v.max() + 1):
            continue
        inked = own[ys, xs]
        band = _band(u[inked], v[inked])
        # Writing inside: the piece's own pixels deeper than the band, and the other pieces in its holes.
        if band is None or (~band).sum() + (filled & (crop > 0) & ~own).sum() < ENCLOSED * band.sum():
            continue
        out[ys[inked][band] + y0, xs[inked][band] + x0] = True
    return out


def _small(rows: np.ndarray | tuple[int, int], cols: np.ndarray | tuple[int, int], shape: tuple[int, ...]) -> bool:
    """Whether ink from rows[0] to rows[-1] and cols[0] to cols[-1] spans under SMALL of the image both ways."""
    return rows[-1] - rows[0] < SMALL * shape[0] and cols[-1] - cols[0] < SMALL * shape[1]


def _holes(piece: np.ndarray) -> np.ndarray:
    """What a piece encloses (True inside its rings: the paper there and any other pieces), that is what
    of the rest does not reach the array's edge."""
    around = label_components(~piece)
    edge = np.unique(np.concatenate([around[0], around[-1], around[:, 0], around[:, -1]]))
    return (around > 0) & ~among(around, edge)


def _tightest(ys: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points' coordinates (u, v), each (N,) from 0 at the low edges, in the frame of their smallest
    enclosing rectangle among the turns searched."""
    cos, sin = np.cos(ANGLES)[:, None], np.sin(ANGLES)[:, None]
    u, v = xs * cos + ys * sin, ys * cos - xs * sin  # (angles, N)
    best = int(np.argmin(np.ptp(u, axis=1) * np.ptp(v, axis=1)))
    return u[best] - u[best].min(), v[best] - v[best].min()


def _band(u: np.ndarray, v: np.ndarray) -> np.ndarray | None:
    """Which of a piece's pixels (u, v in its tightest rectangle) are a box's band, or None when they
    are no box's: each side inked along COVERED of its length within the band, the band thin."""
    sides = (u, v, u.max() - u, v.max() - v)  # each pixel's distance from the left, top, right, bottom edge
    depth = np.minimum.reduce(sides)
    # The band's pixels lie at depths under its thickness, then only writing's: the thickness is where the
    # count of pixels per unit of depth drops under half the band's (a turn's jagged edges blur it).
    counts = np.bincount(np.floor(depth).astype(np.int64))
    sparse = np.flatnonzero(counts < counts[:2].max() / 2)
    thick = int(sparse[0]) if len(sparse) else len(counts)
    if thick > THIN * min(u.max(), v.max()):
        return None
    for side, length, along in zip(sides, (v.max(), u.max(), v.max(), u.max()), (v, u, v, u), strict=True):
        positions = np.unique(np.floor(along[side < thick + 1]).astype(np.int64))
        if len(positions) < COVERED * length:
            return None
    return depth < thick + 1  # a unit of depth to spare
