"""The last step of ink finding: from how far each pixel stands out of the paper to ink in 0..1.

A linear ramp maps LOW of the ink's contrast (its darkest 3x3 mean) to no ink and HIGH of it to full
ink, so faint paper marks, the grain and a line's remnants fall below it. Two refinements:
- In a photo, only ink joined to what stands clearly above the paper's noise (`visible`) stays
  (hysteresis): a small pale digit sets a low contrast, and the ramp's low end then lets through a
  grid's faint crossings and the paper's grain, specks that never reach the visible level.
- Reading a number, each piece of writing is ramped against its own contrast (`per_piece`): a digit
  written with a paler pen, or with less pressure, beside dark ones is still a whole digit, where the
  darkest digit's ramp kept only its darkest parts, or nothing. A piece paler than P_MIN of the
  darkest is ramped as one that pale: the faint remnants of paper lines stay faint.
"""

from __future__ import annotations

import numpy as np

from .imageops import component_boxes, label_components

LOW, HIGH = 0.25, 0.6  # fractions of the ink contrast mapped to 0 and to full ink
# The palest piece of a number ramped against its own contrast, as a fraction of the darkest piece's.
# Numbers of tuning seeds 0 and 2 (40 per condition): 387 and 388 of 400 read right, against 383 and
# 386 with one ramp for the whole image (before the guards for printed remnants below, 388 and 388 at
# 0.35 and 0.5, 386 and 388 at 0.25; with THIN 0.7, 385 and 387).
P_MIN = 0.35
# A piece whose strokes are under THIN of a dark piece's is a printed line's remnant, not a digit, and so
# is an upright bar (its box at most BAR as wide as tall) under PRINTED of it: a cell's wall, as `lone` judges.
THIN, PRINTED, BAR = 0.5, 0.8, 0.3


def ramp(ink: np.ndarray, contrast: float, sigma: float) -> np.ndarray:
    """(H, W) float32 ink in 0..1 from `ink` (how far each pixel stands out of the paper) on one ramp
    for the whole image: LOW to HIGH of `contrast`, its low end at least 3 `sigma` (the paper's noise)."""
    low = max(LOW * contrast, 3 * sigma)
    high = max(HIGH * contrast, low + 0.05)
    out = ink - low  # in place from here: a third of the time of new arrays at each step
    out /= high - low
    return np.clip(out, 0, 1, out=out).astype(np.float32, copy=False)


def only_visible(out: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """`out` (ramped ink) without the ink not joined to any `visible` pixel."""
    inked = out > 0
    labels = label_components(inked)
    return np.where(_seen(labels, visible & inked), out, 0).astype(np.float32, copy=False)


def per_piece(ink: np.ndarray, smooth: np.ndarray, visible: np.ndarray, contrast: float,
              sigma: float) -> np.ndarray:
    """(H, W) float32 ink in 0..1 with each piece (8-connected, joined down to the palest piece's ramp)
    ramped against its own contrast, its darkest 3x3 mean in `smooth`, between P_MIN of `contrast` and
    `contrast`; but a piece whose strokes are under THIN of the widest of the darkest pieces' (a
    printed line's remnant: a grid's, a box's corner), or an upright bar under PRINTED of it (a
    cell's wall) is ramped against `contrast`, as are all pieces in `ramp`. Pieces with no `visible`
    pixel are left out."""
    base = max(LOW * P_MIN * contrast, 3 * sigma)  # the lowest ramp's low end: below it no piece has ink
    labels = label_components(ink > base)
    inked = labels > 0
    which, level = labels[inked], smooth[inked]
    order = np.argsort(level, kind="stable")
    peak = np.zeros(int(labels.max()) + 1, np.float32)
    peak[which[order]] = level[order]  # the brightest assignment comes last: each piece's maximum
    seen = _seen(labels, visible & inked, per_label=True)
    local = np.clip(peak, P_MIN * contrast, contrast)
    out = _ramped(ink, labels, inked, local, seen, sigma)
    width = _stroke_widths(out > 0.5, labels)
    dark = peak >= HIGH * contrast  # pieces the image's own ramp inks fully
    pen = float(width[dark].max(initial=0.0))
    boxes = component_boxes(labels)
    upright = boxes[:, 3] - boxes[:, 2] + 1 <= BAR * (boxes[:, 1] - boxes[:, 0] + 1)
    thin = (width < THIN * pen) | (upright & (width < PRINTED * pen))
    if not (thin & (local < contrast)).any():
        return out
    local[thin] = contrast
    return _ramped(ink, labels, inked, local, seen, sigma)


def _ramped(ink: np.ndarray, labels: np.ndarray, inked: np.ndarray, local: np.ndarray, seen: np.ndarray,
            sigma: float) -> np.ndarray:
    """`ink` ramped piece by piece, each (label) against its `local` contrast, unseen pieces left out."""
    low = np.maximum(LOW * local, 3 * sigma)
    high = np.maximum(HIGH * local, low + 0.05)
    which = labels[inked]
    lo, hi = low[which], high[which]
    out = np.zeros(ink.shape, np.float32)
    out[inked] = np.where(seen[which], np.clip((ink[inked] - lo) / (hi - lo), 0, 1), 0)
    return out


def _stroke_widths(core: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per label, the mean stroke width in px of its pixels in `core`: twice their count over the count
    of those on the edge (a 4-neighbour outside), about the width for strokes 2 px wide or more."""
    inner = core.copy()
    inner[1:] &= core[:-1]
    inner[:-1] &= core[1:]
    inner[:, 1:] &= core[:, :-1]
    inner[:, :-1] &= core[:, 1:]
    inner[0] = inner[-1] = inner[:, 0] = inner[:, -1] = False  # the map's border is an edge
    n = int(labels.max()) + 1
    area = np.bincount(labels[core], minlength=n)
    edge = np.bincount(labels[core & ~inner], minlength=n)
    return 2 * area / np.maximum(edge, 1)


def _seen(labels: np.ndarray, where: np.ndarray, per_label: bool = False) -> np.ndarray:
    """Whether each pixel's component (or, `per_label`, each label) has a pixel in `where`; never the
    background (label 0)."""
    seen = np.zeros(int(labels.max()) + 1, bool)
    seen[labels[where]] = True
    seen[0] = False
    return seen if per_label else seen[labels]
