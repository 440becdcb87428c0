"""A ruling line through a whole number, removed before the number is cut into digits.

In a low-resolution crop that a number fills, a ruling line is as thick and as dark as the pen, and it
ends where the writing ends: the paper stage (`paper.py`) keeps it, and it joins every digit into one
piece. numpy only.
"""

from __future__ import annotations

import numpy as np

from .imageops import run_boxes, run_components
from .lines import band_pixels, crossings, find_lines

# A piece this much of the map wide and at least twice as wide as tall (no one digit is) may be digits
# joined by a ruling line through them.
JOINED_SPAN = 0.9


def without_rulings(ink: np.ndarray) -> np.ndarray:
    """The ink without the horizontal lines that run from edge to edge through a number's digits,
    joining them into one piece; where a stroke crosses a line, the stroke stays. The paper stage keeps
    such a line when the number fills the crop: it runs no further than the writing, and at a low
    resolution it is as thick and as dark as the pen. `ink` itself when no piece looks joined."""
    mask = ink > 0
    inked = np.flatnonzero(mask.any(0))
    if not inked.size or inked[-1] - inked[0] + 1 < JOINED_SPAN * ink.shape[1]:
        return ink  # no piece spans the map (most numbers: their ink stops short of the edges)
    boxes = run_boxes(*run_components(mask))[1:]  # (y0, y1, x0, x1) per piece
    width, height = boxes[:, 3] - boxes[:, 2] + 1, boxes[:, 1] - boxes[:, 0] + 1
    if not np.any((width >= JOINED_SPAN * ink.shape[1]) & (width >= 2 * height)):
        return ink
    lines, shifts = find_lines(mask, JOINED_SPAN)
    rulings = [line for line in lines if line.axis == 0 and all(line.reaches(ink.shape[1]))]
    if not rulings:
        return ink
    writing = mask.copy()
    bands = [band_pixels(line, mask.shape, shifts, grow=1) for line in rulings]
    for band in bands:
        writing[band] = False
    out = ink.copy()
    for line, (rows, cols) in zip(rulings, bands, strict=True):
        keep = crossings(writing, line, (rows, cols), shifts)
        out[rows[~keep], cols[~keep]] = 0
    return out
