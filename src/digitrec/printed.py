"""The printed structure among a page's long straight lines: the rectangles of boxes and form cells,
the families of ruling and grids, a grid's lines across its family, a line's own print (its rows
and strength, apart from a stroke merged with it), and the sides of cells too short to be found as
long lines. `paper` removes them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .imageops import np_lower_quartile
from .lines import EDGE, MAX_SKEW, Line, band_pixels, full_thickness, is_line, meets, straight_runs

ASPECT = 10  # a line of a family (or one on its own) is this many times as long as it is thick; a pen's rarely is
FAMILY = 3  # at least this many parallel lines alike in length and thickness are a family: ruling, a grid
FAMILY_INKED = 0.6  # ...and in print: a line at least this fraction as dark as the others (a grid's major
# lines are darker than its minor ones, and of its family; a pencil stroke much paler than the print is not)
GRID_LENGTH = 0.8  # a line across a family running this fraction of the image is its grid (squared paper)
# A family's line shorter than SPANNING of the image ends at the image's edge or at a line across at both
# ends (a row of cells' walls); the stems of a row of evenly spaced digits end in the clear.
SPANNING = 0.6
CORNER = 0.15  # lines meeting within this fraction of the image close a frame (room for rounded corners)
TIGHT = 0.03  # a cell's divider reaches the cell's top and bottom lines within this fraction
FRAME_THIN = 0.2  # a box's border is at most this fraction of the box's smaller side thick
ALIKE = 2.0  # a rectangle's sides are at most this many times as thick as its top and bottom
INKED_ALIKE = 0.8  # a cell's divider is printed 0.8 to 1 / 0.8 times as dark as the cell's top and bottom
# Parallel lines as far apart as a box's sides (FRAME_THIN), with nothing found across them, may be a
SIDE = 0.8  # cell's, whose sides run between them: lines at least this fraction of the spacing long
EVEN = 1.2  # ...unless three or more are evenly spaced: gaps alike within this factor


def position(line: Line, shift: np.ndarray) -> float:
    """Where a line lies across its direction, in image coordinates (a horizontal line's row)."""
    return (line.lo + line.hi) / 2 - float(shift[(line.start + line.end) // 2])


def frames(lines: list[Line], shifts: dict[int, np.ndarray], shape: tuple[int, int], ruling: set[int],
           strengths: list[float], alike: Callable[[int, int], bool] | None = None) -> set[int]:
    """Lines that close rectangles: two parallel lines, alike in extent, and the lines across between
    them: at their ends (a printed box, its corners perhaps rounded) or along them, reaching both
    closely (the dividers of a form's row of cells, whose lines are horizontal). A rectangle needs two
    sides, or one at a corner where the two lines end, when they run out of the image at their other
    end (a box cut by the crop's edge, perhaps at a rounded corner). Two lines of a ruling (`ruling`:
    families) close no rectangle: what stands between them is writing (the straight sides of a 0, the
    stem of a 4), or a grid's line, which is a family of its own. `strengths`: each line's print
    strength; a divider is printed as dark as the lines it joins (a 4's stem in a paler pen is not). A
    side is printed in the colour of the lines it joins, where `alike(line, side)` can tell (a purple 8's
    sides in a black box are writing)."""
    # The rectangles closed by two vertical lines are those closed by two horizontal ones in the transpose.
    across = [replace(line, axis=1 - line.axis) for line in lines]
    alike = alike or _any
    return (_frames(lines, shifts, shape, ruling, strengths, alike, dividers=True)
            | _frames(across, {0: shifts[1], 1: shifts[0]}, (shape[1], shape[0]), ruling, strengths, alike,
                      dividers=False))


def _frames(lines: list[Line], shifts: dict[int, np.ndarray], shape: tuple[int, int], ruling: set[int],
            strengths: list[float], alike: Callable[[int, int], bool], dividers: bool) -> set[int]:
    """`frames` closed by two horizontal lines; with `dividers`, the sides between their ends too."""
    corner = max(3.0, CORNER * min(shape))
    tight = max(3.0, TIGHT * min(shape))
    pos = [position(line, shifts[line.axis]) for line in lines]
    horizontal = [i for i, line in enumerate(lines) if line.axis == 0]
    vertical = [i for i, line in enumerate(lines) if line.axis == 1]
    found: set[int] = set()
    for a in horizontal:
        for b in horizontal:
            if pos[b] - pos[a] < 2 * corner or (a in ruling and b in ruling):
                continue
            # A rectangle's opposite sides run alike: a stroke beside a box's side stops short of it.
            if abs(lines[a].start - lines[b].start) > corner or abs(lines[a].end - lines[b].end) > corner:
                continue
            span = (pos[a], pos[b], max(lines[a].start, lines[b].start), min(lines[a].end, lines[b].end))
            printed = max(lines[a].thickness, lines[b].thickness)  # a form's lines are printed alike
            # A box's border is thin beside the box: a tight crop's thick 8 has its own "top" and "bottom".
            if printed > FRAME_THIN * min(pos[b] - pos[a], span[3] - span[2] + 1):
                continue
            # A divider printed paler than the lines it joins, or darker, is writing: a pale pencil 4's stem
            # in a cell, a dark 5's sides between two lines of a faint ruling.
            inked = (INKED_ALIKE * min(strengths[a], strengths[b]), max(strengths[a], strengths[b]) / INKED_ALIKE)
            sides = [v for v in vertical if _is_side(lines[v], pos[v], span, corner, tight, printed, dividers,
                                                     not inked[0] <= strengths[v] <= inked[1])
                     and alike(a, v) and alike(b, v)]
            if len(sides) >= 2 or _cut_box((lines[a], lines[b]), [pos[v] for v in sides], shape[1], corner):
                found |= {a, b, *sides}
    return found


def _any(printed: int, other: int) -> bool:
    return True


def _cut_box(pair: tuple[Line, Line], sides: list[float], along: int, corner: float) -> bool:
    """Whether two horizontal lines and their sides (at columns `sides`) are a box cut by the image's
    edge: a side within `corner` of where both lines start (or end), and both running out of the image,
    or into a rounded corner there, at their other end."""
    first, last = max(line.start for line in pair), min(line.end for line in pair)
    for at in sides:
        if all(abs(at - line.start) <= corner for line in pair) and last >= along - 1 - corner:
            return True
        if all(abs(at - line.end) <= corner for line in pair) and first <= corner:
            return True
    return False


def _is_side(line: Line, at: float, span: tuple[float, float, int, int], corner: float, tight: float,
             printed: int, dividers: bool, unlike: bool) -> bool:
    """Whether a vertical line at column `at` joins a rectangle's top and bottom (rows span[0], span[1],
    columns span[2]..span[3], `printed` px thick): near an end of them it may fall short by a rounded
    corner and be up to ALIKE times as thick; between them (a cell's divider) it must reach both and be
    printed as thin as they are and not `unlike` them in print, where a digit's stem inside a cell is written."""
    top, bottom, left, right = span
    at_end = min(abs(at - left), abs(at - right)) <= corner
    if not (at_end or dividers and not unlike):
        return False
    reach = corner if at_end else tight + line.thickness
    thin = line.thickness <= (ALIKE * printed if at_end else printed + 1)
    between = left - corner <= at <= right + corner
    return thin and between and abs(line.start - top) <= reach and abs(line.end - bottom) <= reach


def families(lines: list[Line], shape: tuple[int, int], strengths: list[float],
             alike: Callable[[int, int], bool] | None = None) -> set[int]:
    """Lines with at least FAMILY - 1 others of their direction, length and thickness, not printed
    much paler than them (`strengths`: each line's print strength) and printed in their colour where
    `alike(line, other)` can tell: ruling, a grid, a row of cells; and the grid's lines across them. A
    pale pencil 3's straight side beside a red box's sides is none, nor a grey 4's stem between a blue
    box's sides, as long as they are; nor the upright strokes of digits ending at pale rulings."""
    alike = alike or _any
    found = set()
    for i, line in enumerate(lines):
        kin = [other for j, (other, strength) in enumerate(zip(lines, strengths, strict=True))
               if other.axis == line.axis and 0.5 <= other.thickness / line.thickness <= 2
               and 0.8 <= other.length / line.length <= 1.25 and strengths[i] >= FAMILY_INKED * strength
               and (j == i or alike(i, j))]
        if (len(kin) >= FAMILY and line.length >= ASPECT * line.thickness and _anchored(line, lines, shape)
                and _printed_as_its_ends(i, lines, strengths)):
            found.add(i)
    return found | grid(lines, found, shape)


def _printed_as_its_ends(i: int, lines: list[Line], strengths: list[float]) -> bool:
    """Whether line i is printed no darker than FAMILY_INKED allows against the darkest of the lines
    across that it ends at (none: nothing to tell): a cell's walls are printed as its top and bottom, a
    bordered grid's lines as its border. The upright strokes of digits written between a page's pale
    rulings, ending at them, are the pen's, three times as dark or more, however alike and evenly they
    stand. Lines of no measurable print (a desk's strip along the frame) tell nothing."""
    line = lines[i]
    ends = [s for other, s in zip(lines, strengths, strict=True) if other.axis != line.axis and s > 0
            and (meets(line.start, [other]) or meets(line.end, [other]))]
    return not ends or FAMILY_INKED * strengths[i] <= max(ends)


def _anchored(line: Line, lines: list[Line], shape: tuple[int, int]) -> bool:
    """Whether `line` spans SPANNING of the image, or is `walled`; where there are no lines across (a row
    of cells whose top and bottom are too faint to be found has walls alone), whether it reaches an edge
    at one end at least: the upright strokes of a number's digits, alike in length and thickness, end
    in the clear."""
    along = shape[1] if line.axis == 0 else shape[0]
    if line.length >= SPANNING * along:
        return True
    if not any(other.axis != line.axis for other in lines):
        return any(line.reaches(along))
    return walled(line, lines, shape)


def walled(line: Line, lines: list[Line], shape: tuple[int, int]) -> bool:
    """Whether `line` ends at the image's edge or at one of the `lines` across it, at both ends (a cell's
    wall, between its top and bottom)."""
    across = [other for other in lines if other.axis != line.axis]
    along = shape[1] if line.axis == 0 else shape[0]
    return all(meets(at, across) or edge for at, edge in zip((line.start, line.end), line.reaches(along), strict=True))


def between_rulings(line: Line, lines: list[Line], shape: tuple[int, int]) -> bool:
    """Whether `line` reaches from one line of a page's ruling to another, with ruling beyond both
    ends (and so ends at neither image edge): the ruling's lines, across it, three or more evenly
    spaced and running the image's length (SPANNING). Between them such a line is writing (a 1, a 0's
    straight side), not a cell's wall: a row of cells has a top and a bottom of its own, and a grid's
    lines, where it has a border, end at its first and last lines across."""
    across = sorted((other for other in lines if other.axis != line.axis
                     and other.length >= SPANNING * (shape[0] if other.axis else shape[1])), key=lambda other: other.lo)
    beyond = (any(other.hi < line.start - EDGE for other in across)
              and any(other.lo > line.end + EDGE for other in across))
    return _evenly_spaced(across) and meets(line.start, across) and meets(line.end, across) and beyond


def grid(lines: list[Line], families: set[int], shape: tuple[int, int]) -> set[int]:
    """Lines across a family that are printed alike and run the image's length: the other direction of
    squared paper, whose few lines in a small crop are no family of their own."""
    found = set()
    for axis in (0, 1):
        family = [lines[i].thickness for i in families if lines[i].axis == 1 - axis]
        if not family:
            continue
        printed, along = float(np.median(family)), shape[1] if axis == 0 else shape[0]
        found |= {i for i, line in enumerate(lines) if line.axis == axis and line.length >= GRID_LENGTH * along
                  and 0.5 * printed <= line.thickness <= printed + 1}
    return found


def _grid(ink: np.ndarray, line: Line, shifts: dict[int, np.ndarray], mask: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A line's band as (thickness, length) arrays: whether each pixel holds ink, its ink, and whether
    each of its rows is inked along (nearly) all the line, as its own print is (where a stroke merged
    with the line widens its band, along only part of it)."""
    # A vertical line is a horizontal one of the transpose.
    img, inked = (ink, mask) if line.axis == 0 else (ink.T, mask.T)
    cols = np.arange(max(0, line.start), min(img.shape[1], line.end + 1))
    rows = np.arange(line.lo, line.hi + 1)[:, None] - shifts[line.axis][cols][None, :]
    inside = (rows >= 0) & (rows < img.shape[0])
    rows = np.minimum(np.maximum(rows, 0), img.shape[0] - 1)  # np.clip's values in under half its time
    on = inked[rows, cols] & inside
    covered = on.sum(axis=1)
    return on, np.where(inside, img[rows, cols], 0), covered >= 0.9 * covered.max()


def print_strength(ink: np.ndarray, line: Line, shifts: dict[int, np.ndarray], mask: np.ndarray) -> float:
    """The ink strength of a line's own print: per position along it, the strongest pixel of the three
    rows around its middle row, their lower quartile over the positions where that row holds ink. The
    middle: of the line's own rows (`_grid`), the one with the most ink. A thin printed line is blurred
    across its band, so the median of all its pixels understates it; a stroke may run along much of a
    line in a small crop, so the median of the peaks could be the stroke's."""
    on, values, own = _grid(ink, line, shifts, mask)
    mid = int(np.argmax(np.where(own, values.sum(axis=1), -np.inf)))
    peaks = values[max(0, mid - 1):mid + 2].max(axis=0)
    return np_lower_quartile(peaks[on[mid]]) if on[mid].any() else 0.0


def own_print(ink: np.ndarray, line: Line, shifts: dict[int, np.ndarray], mask: np.ndarray) -> Line:
    """The line narrowed to its own print: the rows from its first to its last own row (`_grid`)."""
    own = np.flatnonzero(_grid(ink, line, shifts, mask)[2])
    return replace(line, lo=line.lo + int(own[0]), hi=line.lo + int(own[-1]))


def cell_sides(mask: np.ndarray, lines: list[Line], frame: list[Line], shifts: dict[int, np.ndarray],
               max_skew: float = MAX_SKEW) -> tuple[list[Line], dict[int, np.ndarray]]:
    """The sides of the cells between adjacent parallel lines of `frame` (printed lines among `lines`)
    that are too short to be found as long lines (`find_lines` looks for lines a fraction of the image
    long): a row of cells in a photo, whose walls are short beside the frame, or a form's cell among
    others, its top and bottom as short as the cell. Looked for only where none of `lines` runs across
    them; returns `shifts` with the new direction's."""
    for axis in (0, 1):
        found = sorted((line for line in frame if line.axis == axis), key=lambda line: line.lo)
        if len(found) < 2 or any(line.axis != axis for line in lines) or _evenly_spaced(found):
            continue
        m = mask if axis == 0 else np.ascontiguousarray(mask.T)  # found lines are horizontal in m
        shift = shifts[axis]
        strip = np.zeros_like(m)
        rows = np.arange(m.shape[0])[:, None]
        pairs = []
        for a, b in zip(found[:-1], found[1:], strict=True):
            start, end = max(a.start, b.start), min(a.end, b.end)
            if FRAME_THIN * (b.lo - a.hi - 1) < max(a.thickness, b.thickness) or end <= start:
                continue
            cols = np.arange(start, end + 1)
            # The mask from a's top row to b's bottom row, per column.
            strip[:, cols] |= m[:, cols] & (rows >= a.lo - shift[cols]) & (rows <= b.hi - shift[cols])
            pairs.append((a, b))
        if not pairs:
            continue
        min_length = max(8, int(SIDE * min(b.lo - a.hi - 1 for a, b in pairs)))
        # The sides are horizontal in the strip's transpose.
        straight, offset, runs = straight_runs(np.ascontiguousarray(strip.T), 1 - axis, min_length, max_skew)
        if straight is None:
            continue
        new = {**shifts, 1 - axis: offset}
        sides = [line for line in (full_thickness(straight, run) for run in runs)
                 if is_line(line) and _joins(line, pairs, new, shift, mask.shape, axis)]
        if sides:
            return sides, new
    return [], shifts


def _joins(side: Line, pairs: list[tuple[Line, Line]], shifts: dict[int, np.ndarray], shift: np.ndarray,
           shape: tuple[int, int], axis: int) -> bool:
    """Whether a side (across lines of `axis`, whose offsets are `shift`) reaches from one line of a pair
    to the other (within EDGE px of each) where it stands: a cell's side does, a stroke inside it
    (a 2's foot along the bottom) stops short."""
    rows, cols = band_pixels(side, shape, shifts)
    if axis == 1:  # the pair's lines are vertical: rows and columns swap
        rows, cols = cols, rows
    if not rows.size:
        return False
    x = int(np.median(cols))
    top, bottom = int(rows.min()), int(rows.max())
    return any(a.start <= x <= a.end and b.start <= x <= b.end and top <= a.hi - shift[x] + EDGE
               and bottom >= b.lo - shift[x] - EDGE for a, b in pairs)


def _evenly_spaced(lines: list[Line]) -> bool:
    """Whether three or more lines (sorted across) are evenly spaced, within EVEN: a ruling, between
    whose lines what reaches from one to the next is writing (a 1, the stem of a 4), not a cell's side."""
    gaps = np.diff([(line.lo + line.hi) / 2 for line in lines])
    return len(gaps) >= 2 and float(gaps.max()) <= EVEN * float(gaps.min())
