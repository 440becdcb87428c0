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

from .imageops import paint_runs, run_boxes, run_components
from .segment import BAR

LOW, HIGH = 0.25, 0.6  # fractions of the ink contrast mapped to 0 and to full ink
# The palest piece of a number ramped against its own contrast, as a fraction of the darkest piece's.
# Numbers of tuning seeds 0 and 2 (40 per condition): 387 and 388 of 400 read right, against 383 and
# 386 with one ramp for the whole image (before the guards for printed remnants below, 388 and 388 at
# 0.35 and 0.5, 386 and 388 at 0.25; with THIN 0.7, 385 and 387).
P_MIN = 0.35
# A piece whose strokes are under THIN of a dark piece's is a printed line's remnant, not a digit, and so
# is an upright bar (`segment.BAR`) under PRINTED of it: a cell's wall (a 1 is written with the pen).
# Only where lines were removed: elsewhere the guards took a faint thin 1 of a number of seed 0 for a
# remnant (388 and 388 of 400 without them there, no other answer of the tuning seeds changed).
THIN, PRINTED = 0.5, 0.8
EVEN = 0.99  # where every piece's peak is this close to the darkest's (a web pad's digits), the image's ramp


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
    runs, label = run_components(out > 0)
    _, seen = _run_peaks(runs, label, out, visible)
    return np.where(paint_runs(out.shape, runs, seen[label], paper=False), out, 0).astype(np.float32, copy=False)


def per_piece(ink: np.ndarray, smooth: np.ndarray, visible: np.ndarray, contrast: float,
              sigma: float, lines_removed: bool = True) -> np.ndarray:
    """(H, W) float32 ink in 0..1 with each piece (8-connected, joined down to the palest piece's ramp)
    ramped against its own contrast, its darkest 3x3 mean in `smooth`, between P_MIN of `contrast` and
    `contrast`; but a pale piece (one the image's ramp does not ink fully, its peak under HIGH of
    `contrast`) whose strokes are under THIN of the widest of the others' (a printed line's remnant: a
    grid's, a box's corner), or an upright bar under PRINTED of it (a cell's wall), is ramped against
    `contrast`, as in `ramp`, where the paper's lines or boxes were removed (`lines_removed`); where
    none were, there are no remnants, and a thin pale piece is writing (a 1 written with less pressure
    beside dark digits). Pieces with no `visible` pixel are left out."""
    base = max(LOW * P_MIN * contrast, 3 * sigma)  # the lowest ramp's low end: below it no piece has ink
    runs, label = run_components(ink > base)
    peak, seen = _run_peaks(runs, label, smooth, visible)
    if seen[1:].all() and (peak[1:] >= EVEN * contrast).all():  # each piece as dark as the darkest: a pad's
        return ramp(ink, contrast, sigma)
    local = np.clip(peak, P_MIN * contrast, contrast)
    out = _ramped(ink, runs, label, local, seen, sigma)
    pale = seen & (peak < HIGH * contrast)  # pieces the image's ramp does not ink fully
    if not pale.any() or not lines_removed:  # each as dark as the pen (a drawing's digits), or no line removed:
        return out  # no remnant to tell from them
    labels = paint_runs(ink.shape, runs, label)
    width = _stroke_widths(out > 0.5, labels)
    pen = float(width[seen & ~pale].max(initial=0.0))
    boxes = run_boxes(runs, label)
    upright = boxes[:, 3] - boxes[:, 2] + 1 <= BAR * (boxes[:, 1] - boxes[:, 0] + 1)
    thin = pale & ((width < THIN * pen) | (upright & (width < PRINTED * pen)))
    if not thin.any():
        return out
    local[thin] = contrast
    return _ramped(ink, runs, label, local, seen, sigma)


def _run_peaks(runs: tuple[np.ndarray, np.ndarray, np.ndarray], label: np.ndarray, smooth: np.ndarray,
               visible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per label of `run_components`' runs (0: none): the largest value of `smooth` on its pixels, and
    whether any of them is `visible`. Each run is a slice of the image in raster order."""
    rows, starts, ends = runs
    count = int(label.max(initial=0)) + 1
    peak, seen = np.zeros(count, np.float32), np.zeros(count, bool)
    if not len(starts):
        return peak, seen
    w = smooth.shape[1]
    bounds = np.empty(2 * len(starts), np.intp)  # start, end, start, end...: the runs and the paper between
    bounds[0::2], bounds[1::2] = rows * w + starts, rows * w + ends
    # reduceat needs every index inside the array: a run ending at the last pixel is reduced to the end.
    bounds = bounds[:-1] if bounds[-1] == smooth.size else bounds
    np.maximum.at(peak, label, np.maximum.reduceat(smooth.ravel(), bounds)[0::2])
    shown = np.logical_or.reduceat(visible.ravel(), bounds)[0::2]
    seen[label[shown]] = True
    seen[0] = False
    return peak, seen


def _ramped(ink: np.ndarray, runs: tuple[np.ndarray, np.ndarray, np.ndarray], label: np.ndarray,
            local: np.ndarray, seen: np.ndarray, sigma: float) -> np.ndarray:
    """`ink` ramped piece by piece (`run_components`' runs and their labels), each against its `local`
    contrast (per label); unseen pieces and the paper between the runs left out."""
    low = np.maximum(LOW * local, 3 * sigma)
    scale = 1 / (np.maximum(HIGH * local, low + 0.05) - low)
    low[~seen] = np.inf  # -inf ink, clipped to none
    out = ink - paint_runs(ink.shape, runs, low[label], paper=np.inf)
    out *= paint_runs(ink.shape, runs, scale[label], paper=1)
    return np.clip(out, 0, 1, out=out).astype(np.float32, copy=False)


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
