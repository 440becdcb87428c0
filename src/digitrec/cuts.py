"""Ways to cut a piece of ink wide enough to hold touching digits into 2 or 3 of them: near the
middle of each digit's share, at the column where least ink crosses, and at the deepest valleys of
the ink's profile in the piece's middle. The reader reads each way and keeps the clearly best
(`reader.SPLIT_GAIN`).
"""

from __future__ import annotations

import numpy as np

# Besides the cuts near the middle, the VALLEYS thinnest columns within VALLEY_SPAN of the middle (a
# fraction of the piece's width each side) are offered as 2-digit cuts.
VALLEYS, VALLEY_SPAN = 3, 0.35


def options(profile: np.ndarray, x0: int, digit_width: float) -> list[list[tuple[int, int]]]:
    """Ways to cut a piece into 2 or 3 digits, each a list of column ranges (x0, x1) from `x0`, where
    `profile` is the piece's ink per column and `digit_width` the number's typical digit's width (px)."""
    width = len(profile)
    found: list[list[tuple[int, int]]] = []
    for parts in (2, 3):
        if width < 0.6 * parts * digit_width:
            break
        cuts, lo = [], 0
        for k in range(1, parts):
            centre = round(k * width / parts)
            window = max(2, round(0.25 * width / parts))
            a, b = max(lo + 2, centre - window), min(width - 2, centre + window)
            if a >= b:
                break
            cut = a + int(np.argmin(profile[a:b]))
            cuts.append(cut)
            lo = cut
        if len(cuts) == parts - 1:
            found.append(_parts(x0, width, cuts))
    # Touching digits of unequal widths (a narrow 1 against a 4) meet off the middle, and a digit's own
    # thin columns (a 4 between its arm and stem) can be thinner than the join: the deepest few
    # valleys of the middle are offered too, for the model to choose from.
    for cut in _valleys(profile, VALLEYS) if found else []:
        option = _parts(x0, width, [cut])
        if option not in found:
            found.append(option)
    return found


def _valleys(profile: np.ndarray, count: int) -> list[int]:
    """Up to `count` columns, lowest first, where the ink profile has a local minimum, within the
    middle of the piece (VALLEY_SPAN each side) and at least a tenth of its width apart."""
    width = len(profile)
    lo, hi = max(2, round((0.5 - VALLEY_SPAN) * width)), min(width - 2, round((0.5 + VALLEY_SPAN) * width))
    smooth = np.convolve(profile, np.ones(3) / 3, mode="same")
    inner = np.arange(max(lo, 1), min(hi, width - 1))
    minima = inner[(smooth[inner] <= smooth[inner - 1]) & (smooth[inner] <= smooth[inner + 1])]
    chosen: list[int] = []
    for column in minima[np.argsort(smooth[minima], kind="stable")].tolist():
        if all(abs(column - c) >= 0.1 * width for c in chosen):
            chosen.append(column)
        if len(chosen) == count:
            break
    return chosen


def _parts(x0: int, width: int, cuts: list[int]) -> list[tuple[int, int]]:
    """The column ranges of a piece from column `x0`, `width` wide, cut before each of `cuts` (offsets
    from its left edge)."""
    edges = [0, *cuts, width]
    return [(x0 + edges[k], x0 + edges[k + 1] - 1) for k in range(len(edges) - 1)]
