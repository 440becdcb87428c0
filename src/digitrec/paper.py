"""The paper's own structure in an ink map, recognised and removed: notebook ruling, squared paper,
margin lines, printed boxes and form cells (`printed` finds their rectangles and families).

A long straight line is paper, not writing, when it is thin beside the handwriting's strokes, when
it runs well past the writing on both sides, when it is one of a family of parallel lines (ruling,
a grid, cells), or when it is a side of a frame around the writing. A hand's long stroke (the bar of
a 7, a lone 1) is none of these. Where a removed line crossed a stroke, the stroke stays whole.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property

import numpy as np

from .colour import Colour, Hues, differs, pen_pixels
from .combs import TICK, ticks
from .imageops import label_components, np_median
from .lines import CROSSING, MAX_SKEW, MIN_ASPECT, Line, band_pixels, crossings, find_lines
from .printed import ASPECT, between_rulings, cell_sides, families, frames, own_print, print_strength, walled
from .rings import boxes_around

MIN_LINE = 0.4  # a candidate line is at least this fraction of the image long
THIN = 0.6  # a line at most this fraction of the writing's stroke width is printed, not written
BEYOND = 0.25  # ...or it runs past the writing by this fraction of the writing's extent on both ends
HAIRLINE = 0.03  # with no other writing, a line thinner than this fraction of the image is paper;
EDGE_TO_EDGE = 0.06  # ...or thinner than this, when it runs from edge to edge (a margin line, ruling)
FAINT = 0.6  # a line at most this fraction of the writing's ink strength is printed (pale ruling)
MAIN = 0.2  # pieces of writing with this fraction of the largest piece's ink count for its extent, but not
# a comb's ticks (`combs.TICK`)
FAINTER = 1.1  # a fainter mask with this many times the mask's pixels may show lines the mask missed


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width in px of a binary mask: twice its area over its boundary length."""
    if not mask.any():
        return 0.0
    m = np.pad(mask, 1).astype(np.int8)
    boundary = np.abs(np.diff(m, axis=0)).sum() + np.abs(np.diff(m, axis=1)).sum()
    return float(2 * mask.sum() / max(int(boundary), 1))


def _extent(mask: np.ndarray, axis: int) -> tuple[int, int] | None:
    """The first and last column (axis 0: along a horizontal line) or row (axis 1) holding ink."""
    along = np.flatnonzero(mask.any(axis=0)) if axis == 0 else np.flatnonzero(mask.any(axis=1))
    return (int(along[0]), int(along[-1])) if along.size else None


def _strength(ink: np.ndarray, where: np.ndarray | tuple[np.ndarray, np.ndarray]) -> float:
    """The median ink strength (darkness against the paper) of some pixels; 0 for none."""
    values = ink[where]
    return np_median(values) if values.size else 0.0


def _lone_line_is_paper(line: Line, writing: Writing, shape: tuple[int, int], faint: bool,
                        beside: tuple[np.ndarray, np.ndarray], lines: list[Line],
                        shifts: dict[int, np.ndarray]) -> bool:
    """A line on its own is paper when it is fainter or thinner than the writing, or runs well past it
    on both ends (its ends on `lines` across it not counted: a 7's stem from the ruling line its bar
    hangs from to the next is one piece with both); with no writing at all, when it is a hairline.
    `beside`: the pixels along the line's band, where a form's ticks hang off it; `shifts`: the lines'
    column (row) shifts, as `find_lines` gives them."""
    across, along = shape if line.axis == 0 else shape[::-1]
    from_start, to_end = line.reaches(along)
    if writing.width == 0:
        return line.thickness <= (EDGE_TO_EDGE if from_start and to_end else HAIRLINE) * across
    # A comb's ticks stand on a horizontal baseline; beside a vertical line, pieces are a stroke's.
    extent = _extent(writing.main(_sides(line, beside, shifts) if line.axis == 0 else None), line.axis)
    margin = BEYOND * (extent[1] - extent[0] + 1) if extent is not None else 0.0
    start, end = _off_lines(line, [other for other in lines if other.axis != line.axis])
    # Upright, ending in the clear at both ends (no edge, no line across) and no taller than the writing:
    # a stroke however pale or thin (a 1 written lighter than the digits beside it), as no printed line is.
    # Or with less writing beside it than its own pixels: the writing's main stroke (a lone 1, whose pencil
    # grain or flag is all that is left beside its band).
    clear = line.axis == 1 and not (from_start or to_end) and (start, end) == (line.start, line.end)
    if clear and (extent is not None and extent[0] - margin <= start and end <= extent[1] + margin
                  or np.count_nonzero(writing.mask) < line.length * line.thickness):
        return False
    if faint or line.thickness <= THIN * writing.width:
        return True
    if extent is None:
        return False
    if start <= extent[0] - margin and end >= extent[1] + margin:
        return True
    # A comb's baseline or an underline: under all the writing, and running on past it to the image's edge.
    # Under all of it within the line's own thickness: a comb's last tick, touching the digit, ends it.
    under = line.start <= extent[0] + line.thickness and line.end >= extent[1] - line.thickness
    to_left = from_start and line.start <= extent[0] - margin and under
    to_right = to_end and line.end >= extent[1] + margin and under
    return line.axis == 0 and (to_left or to_right)


def _sides(line: Line, pixels: tuple[np.ndarray, np.ndarray], shifts: dict[int, np.ndarray]
           ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """(those of `pixels` (rows, columns) above a horizontal line's band, those below it)."""
    rows, cols = pixels
    up = rows < line.lo - shifts[0][cols]  # the band's top row in each pixel's column
    down = rows > line.hi - shifts[0][cols]
    return (rows[up], cols[up]), (rows[down], cols[down])


def _off_lines(line: Line, across: list[Line]) -> tuple[int, int]:
    """The line's first and last position along it that lie on none of the lines `across` it."""
    start, end = line.start, line.end
    for other in sorted(across, key=lambda other: other.lo):
        if other.lo <= start <= other.hi:
            start = other.hi + 1
    for other in sorted(across, key=lambda other: -other.hi):
        if other.lo <= end <= other.hi:
            end = other.lo - 1
    return start, end


class Writing:
    """The writing the lines are judged against (the mask without any line's band), each measure taken
    once for all the lines of an image, and only when a line needs it."""

    def __init__(self, mask: np.ndarray, ink: np.ndarray) -> None:
        self.mask, self.ink = mask, ink

    @cached_property
    def width(self) -> float:
        return stroke_width(self.mask)

    @cached_property
    def strength(self) -> float:
        return _strength(self.ink, self.mask)

    @cached_property
    def pieces(self) -> tuple[np.ndarray, np.ndarray]:
        """(component labels, each label's pixel count; 0 for the background)."""
        labels = label_components(self.mask)
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        return labels, sizes

    def main(self, beside: tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None) -> np.ndarray:
        """The writing's substantial pieces: its largest and those with at least MAIN of its ink. Small
        pieces (a printed label, specks) do not stretch the writing's extent, nor do pieces under TICK
        of the largest that touch the first pixels of `beside` (above a line) and not the second (below
        it): the ticks of a form's comb of cells stand on its baseline; the stems of 7s hang from their
        bars."""
        labels, sizes = self.pieces
        if labels.max() <= 1:
            return self.mask
        keep = sizes >= MAIN * sizes.max()
        if beside is not None:
            (above, below), touching, hanging = beside, np.zeros(len(sizes), bool), np.zeros(len(sizes), bool)
            touching[labels[above]] = True
            hanging[labels[below]] = True
            keep &= ~(touching & ~hanging & (sizes < TICK * sizes.max()))
        return keep[labels]


def _without(mask: np.ndarray, bands: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    out = mask.copy()
    for band in bands:
        out[band] = False
    return out


def remove_lines(ink: np.ndarray, mask: np.ndarray, faint: np.ndarray | None = None,
                 colour: Colour | None = None, max_skew: float = MAX_SKEW) -> np.ndarray:
    """`ink` (H, W) float with the paper's lines zeroed; `mask` (H, W) bool says where ink is. Fainter
    lines are looked for again in `faint`, a mask at a lower threshold, if given and if it holds more
    than the mask: a grid's minor lines, whose crossings alone reach the mask, or a ruling too faint
    for it. A box around the writing goes first, whole. `colour`: the image's colour, where a line and
    the pen differ in it (a stroke along a green grid line stays). `max_skew`: the steepest line
    looked for (tan)."""
    frame = boxes_around(mask)
    if frame.any():
        ink, mask = np.where(frame, 0, ink), mask & ~frame
        faint = faint & ~frame if faint is not None else None
    out = _remove_lines(ink, mask, ink, colour, max_skew)
    if faint is not None and np.count_nonzero(faint) > FAINTER * np.count_nonzero(mask):  # 8x faster than sum()
        out = _remove_lines(out, faint, ink, colour, max_skew)
    return out


def _remove_lines(ink: np.ndarray, mask: np.ndarray, printed_ink: np.ndarray, colour: Colour | None,
                  max_skew: float) -> np.ndarray:
    """`ink` with the paper's lines in `mask` zeroed. `printed_ink`: the ink before any line was
    removed, where a line's print is compared with the others' (after the first pass the lines it
    removed would be blank, and anything beside them would seem printed darker)."""
    lines, shifts = find_lines(mask, MIN_LINE, max_skew)
    if not lines:
        return ink
    bands = [band_pixels(line, mask.shape, shifts, grow=1) for line in lines]
    # Each line is judged against the writing without any of the lines, so that two lines of an empty
    # page do not pass each other off as writing.
    writing = _without(mask, bands)
    printed = _printed(lines, writing, shifts)
    sides, shifts = cell_sides(mask, lines, [lines[i] for i in printed], shifts, max_skew)
    if sides:  # judged with the others, against the writing without them too
        lines += sides
        bands += [band_pixels(line, mask.shape, shifts, grow=1) for line in sides]
        writing = _without(mask, bands)
        printed = _printed(lines, writing, shifts)
    strengths = [print_strength(ink, line, shifts, mask) for line in lines]
    printed_strengths = strengths if printed_ink is ink else [print_strength(printed_ink, line, shifts, mask)
                                                               for line in lines]
    hues = Hues(colour, bands, mask)
    ruling = {printed[i] for i in families([lines[i] for i in printed], mask.shape,
                                           [printed_strengths[i] for i in printed],
                                           lambda a, b: hues.alike(printed[a], printed[b]))}
    framing = frames(lines, shifts, mask.shape, ruling, printed_strengths, hues.alike)
    # A box's own pixels, however dark in places, are the box; a grid's line crossing a stroke is not.
    # But a stroke running along a box's side (a 2's foot on its bottom) widens the side's band: only
    # the side's own print goes.
    boxes = (framing - ruling) | set(range(len(lines) - len(sides), len(lines)))  # the cell sides found are a box's
    for i in boxes:
        bands[i] = band_pixels(own_print(ink, lines[i], shifts, mask), mask.shape, shifts, grow=1)
    paper = framing | ruling
    undecided = [i for i in printed if i not in paper]
    judged = Writing(writing, ink)
    alone = _with_strokes_back(lines, _alone(lines, undecided, strengths, judged, shifts), paper, bands, judged, mask,
                               strengths, shifts)
    paper |= alone.keys() | _tinted(lines, undecided, bands, mask, writing, colour)
    if not paper:  # all writing (most drawings' long strokes): nothing to remove, nothing to copy
        return ink
    lone = [(lines[i], beside) for i, beside in alone.items() if lines[i].axis == 0]  # a comb's baselines
    writing = _without(mask, [bands[i] for i in paper])
    out = ink.copy()
    pen = _strength(ink, writing)
    for i in paper:
        line, (rows, cols) = lines[i], bands[i]
        keep = crossings(writing, line, (rows, cols), shifts)
        # Where the line is much fainter than the pen, the pen's pixels on it are writing, wherever
        # they are: a stroke running along the line stays too.
        strength = strengths[i]
        if i not in boxes and strength <= FAINT * pen:
            keep |= ink[rows, cols] >= (strength + pen) / 2
        pen_too = pen_pixels(colour, printed_ink, (rows, cols), mask[rows, cols], writing, printed_strengths[i], pen)
        if pen_too is not None:
            keep |= pen_too
        out[rows[~keep], cols[~keep]] = 0
    if lone:
        out[ticks(writing, lone, shifts)] = 0
    return out


def _with_strokes_back(lines: list[Line], alone: dict[int, tuple[np.ndarray, np.ndarray]], paper: set[int],
                       bands: list[tuple[np.ndarray, np.ndarray]], writing: Writing, mask: np.ndarray,
                       strengths: list[float],
                       shifts: dict[int, np.ndarray]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """`alone` (lines taken for paper on their own, as `_alone` gives them) less those that are not, once
    judged again with the lines across them that are the writing's back in `writing`: not paper on
    their own, and ending in the clear (a cell's walls reach from one printed line to another). Three
    7s' level bars join into one long line, which runs well past the writing without their stems,
    lines too. (A line along it that is no paper may be a printed label's edge: not writing.)"""
    for axis in {lines[i].axis for i in alone}:
        strokes = [bands[i] for i in range(len(lines)) if lines[i].axis != axis and i not in paper
                   and i not in alone and not walled(lines[i], lines, mask.shape)]
        if strokes:
            back = writing.mask.copy()
            for band in strokes:
                back[band] |= mask[band]
            again = _alone(lines, [i for i in alone if lines[i].axis == axis], strengths, Writing(back, writing.ink),
                           shifts)
            alone = {i: beside for i, beside in alone.items() if lines[i].axis != axis or i in again}
    return alone


def _printed(lines: list[Line], writing: np.ndarray, shifts: dict[int, np.ndarray]) -> list[int]:
    """Which of `lines` may be printed. The straight part of a stroke (the side of a 0, a 1) runs on into
    the `writing` at both ends, or reaches from one line of a ruling to another; a printed line ends at
    the paper's edge, at another line, or in the clear."""
    return [i for i, line in enumerate(lines)
            if not (_continued(line, writing, shifts) or between_rulings(line, lines, writing.shape))]


def _alone(lines: list[Line], candidates: list[int], strengths: list[float], writing: Writing,
           shifts: dict[int, np.ndarray]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Which of `candidates` (indices into `lines`, of `strengths`) are paper standing alone, judged
    against `writing`: each with the pixels beside its band, where a comb's ticks hang off it."""
    found = {}
    # The writing's strength (a median) is at most the ink's maximum, or 0: a line over FAINT of that (a
    # stroke's straight part, as dark as the writing) is not faint, found without the median.
    bound = FAINT * max(float(writing.ink.max()), 0.0) if candidates else 0.0
    for i in candidates:
        line = lines[i]
        faint = strengths[i] <= bound and strengths[i] <= FAINT * writing.strength
        long = line.length >= (MIN_ASPECT if faint else ASPECT) * line.thickness  # a pale line may be short
        beside = band_pixels(line, writing.mask.shape, shifts, grow=CROSSING)
        if long and _lone_line_is_paper(line, writing, writing.mask.shape, faint, beside, lines, shifts):
            found[i] = beside
    return found


def _tinted(lines: list[Line], candidates: list[int], bands: list[tuple[np.ndarray, np.ndarray]], mask: np.ndarray,
            writing: np.ndarray, colour: Colour | None) -> set[int]:
    """Which of `candidates` run from edge to edge in another colour than the writing: a red margin
    line, which in a small crop may be as thick as a stroke (a double margin, blurred into one band)."""
    if colour is None:
        return set()
    found = set()
    for i in candidates:
        line, band = lines[i], bands[i]
        if all(line.reaches(mask.shape[1 - line.axis])) and differs(colour, band, mask[band], writing):
            found.add(i)
    return found


def _continued(line: Line, writing: np.ndarray, shifts: dict[int, np.ndarray]) -> bool:
    """Whether writing lies just beyond both ends of a line, within its band's rows (CROSSING px wider)
    and as far along as the line is thick. A line reaching that close to the image's edge ends there."""
    along = writing.shape[1] if line.axis == 0 else writing.shape[0]
    reach = max(2, line.thickness)

    def inked(start: int, end: int) -> bool:
        if start < 0 or end >= along:
            return False
        return bool(writing[band_pixels(replace(line, start=start, end=end), writing.shape, shifts, CROSSING)].any())

    return inked(line.start - reach, line.start - 1) and inked(line.end + 1, line.end + reach)
