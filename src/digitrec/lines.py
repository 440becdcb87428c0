"""Long straight lines in an ink mask: ruling, grids, margins, box and cell borders.

Printed lines differ from handwriting in being long and straight, and a page's lines share one
direction. `find_lines` measures the skew of each direction (a scan is rarely square to its lines,
a photo never), straightens the mask, and returns the straight runs much longer than a stroke, as
bands (the line's pixels). `paper.py` decides which of them are paper and removes them.
numpy only: measured on 512 px images, OpenCV's morphology would be faster, but its wheel is 150 MB
and its import alone costs 0.1-0.3 s of a 0.35 s `digitrec predict`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from .imageops import nonzero, row_counts, row_runs

MAX_SKEW = 0.07  # tan of the largest skew searched: 4 degrees (a scan, a screenshot)
PHOTO_SKEW = 0.16  # ...in a photo: 9 degrees (a phone held a little turned, and keystone on top)
SKEW_STEP = 0.01  # the coarse search's spacing, before it is refined
SKEW_SAMPLE = 2000  # ink pixels enough to measure the skew
GAP = 4  # px: gaps this short in a run (JPEG, faint print) do not break it
MIN_ASPECT = 5  # a line is at least this many times as long as it is thick
EDGE = 2  # px: a line ending this close to the image's edge runs to it
COVERED = 0.7  # a row inked along this fraction of a line's length belongs to its thickness
CROSSING = 2  # px: a stroke with ink this close on both sides of a removed line crosses it
SOLID = 0.95  # a printed line's own rows are inked along this fraction of its length; a stroke beside it is not


@dataclass(frozen=True)
class Line:
    """One straight band of a mask: along `axis` (0: horizontal, 1: vertical), in straightened
    coordinates `offset` (rows from `lo` to `hi` inclusive, for a horizontal line) and `start`..`end`."""

    axis: int
    lo: int
    hi: int
    start: int
    end: int
    skew: float  # tan of the angle: a horizontal line's row moves by skew per column

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def thickness(self) -> int:
        return self.hi - self.lo + 1

    def reaches(self, along: int) -> tuple[bool, bool]:
        """Whether the line runs to within EDGE px of the image's first and of its last column (for a
        vertical line: row); `along`: the image's size in the line's direction."""
        return self.start <= EDGE, self.end >= along - 1 - EDGE


@cache
def _skews(max_skew: float) -> tuple[list[float], np.ndarray]:
    """The coarse skews up to `max_skew`, smallest first (the first of equals wins), and the fine steps
    around the best of them: made once per range, where making them per call took a sixth of
    `skew_of`'s time."""
    coarse = np.linspace(-max_skew, max_skew, 2 * round(max_skew / SKEW_STEP) + 1)
    fine = np.linspace(-(coarse[1] - coarse[0]), coarse[1] - coarse[0], 5)
    fine.flags.writeable = False
    return sorted(coarse.tolist(), key=abs), fine


def skew_of(mask: np.ndarray, max_skew: float = MAX_SKEW) -> float:
    """The skew (tan, up to `max_skew` either way) that makes the rows' ink counts most peaked:
    horizontal lines then lie in rows. Of equally good skews the smallest wins, so a mask without
    lines stays as it is. Searched coarse to fine on at most SKEW_SAMPLE of the ink's pixels (plenty
    to place a line)."""
    total = int(np.count_nonzero(mask))
    if total < 16:
        return 0.0
    step = max(1, total // SKEW_SAMPLE)  # every step-th column: a line has ink in each
    # Column by column (the transpose's raster order): consecutive pixels then fall in different rows,
    # which bincount counts 1.5x faster than runs of one row.
    xs, ys = nonzero(np.ascontiguousarray(mask[:, ::step].T))
    h, w = mask.shape
    margin = int(max_skew * w) + 1
    ys, xs = (ys + margin).astype(np.float32), (xs * step - w / 2).astype(np.float32)
    # Every skew tried (at most max_skew plus a coarse step, under 2 * max_skew) moves a pixel by less
    # than the margin: rows of each skew lie in 0..size-1.
    size = h + 2 * margin

    def best_of(skews: list[float]) -> tuple[float, float]:
        """(the skew whose rows' ink counts have the largest sum of squares, that sum); the first of
        equals. All skews in one bincount: the rows of skew i are numbered from i * size."""
        rows = np.multiply(np.asarray(skews, np.float32)[:, None], xs)  # (skews, pixels) float32
        np.subtract(ys, rows, out=rows)
        np.rint(rows, out=rows)
        # Whole numbers, and under 2^24 with the offsets (len(skews) * size): float32 adds them exactly.
        rows += np.arange(0, size * len(skews), size, dtype=np.float32)[:, None]
        counts = np.bincount(rows.astype(np.intp).ravel(), minlength=size * len(skews)).reshape(len(skews), size)
        scores = np.einsum("ij,ij->i", counts, counts)  # exact in int64
        i = int(np.argmax(scores))
        return skews[i], float(scores[i])

    coarse_first, fine_steps = _skews(max_skew)
    best, score = best_of(coarse_first)  # the first of equals: the smallest skew
    # Finer skews around it, nearest first. The nearest is the best itself (offset 0), scored already:
    # it wins unless another scores more.
    fine = sorted((best + fine_steps).tolist(), key=lambda k: abs(k - best))
    near, near_score = best_of(fine[1:])
    return float(near if near_score > score else best)


def may_hold_lines(mask: np.ndarray, min_length: int, max_skew: float = MAX_SKEW) -> bool:
    """Cheaply, whether some band of rows as tall as a skewed line is inked along a run of at least
    `min_length` columns: without one there is no horizontal line to look for (a row of digits covers
    as many columns, but with gaps). Along any `min_length` columns a skewed line's rows drift by
    less than k; every k rows in a row are inside one of the bands of 2k rows starting at multiples
    of k."""
    h, w = mask.shape
    k = min(h, int(max_skew * min_length) + 2)
    blocks = mask[::k].copy()  # (ceil(h / k), w): whether each block of k rows is inked, column by column
    for i in range(1, k):  # k slices ORed: 4x faster than any() along the middle axis of (h / k, k, w)
        part = mask[i::k]
        blocks[:len(part)] |= part
    bands = blocks[:-1] | blocks[1:] if len(blocks) > 1 else blocks
    return bool(long_runs(bands, min_length))


def straighten(mask: np.ndarray, skew: float) -> tuple[np.ndarray, np.ndarray]:
    """(the mask with each column shifted so lines of this skew lie in rows, the row offset per
    column: image row y of column x is row y + offset[x] of the straightened mask)."""
    h, w = mask.shape
    if skew == 0:
        return mask, np.zeros(w, np.intp)
    shift = np.rint(-skew * (np.arange(w) - w / 2)).astype(np.intp)
    offset = shift + (int(np.abs(shift).max()) if w else 0)
    out = np.zeros((h + int(offset.max(initial=0)), w), bool)
    # Columns of one offset are neighbours: a few slice copies, not one index per pixel.
    starts, at = [0, *(np.flatnonzero(offset[1:] != offset[:-1]) + 1).tolist()] if w else [], offset.tolist()
    for a, b in zip(starts, [*starts[1:], w], strict=True):
        out[at[a]:at[a] + h, a:b] = mask[:, a:b]
    return out, offset


def long_runs(mask: np.ndarray, min_length: int, gap: int = GAP) -> list[tuple[int, int, int]]:
    """(row, start, end) of every horizontal run of at least `min_length` px, runs less than `gap` + 1 px
    apart in a row joined (the gap's pixels then count toward the length)."""
    # Every row's runs: picking first the rows with ink enough for such a run (one px in every gap + 1)
    # took longer than it saved, on drawings and on photos of paper alike.
    rows, starts, ends = row_runs(mask)
    if not len(starts):
        return []
    first = np.ones(len(starts) + 1, bool)  # whether each run begins a joined run, and a run past the last
    first[1:-1] = (rows[1:] != rows[:-1]) | (starts[1:] - ends[:-1] > gap)
    # A run ends a joined run where the next run begins one.
    rows, starts, ends = rows[first[:-1]], starts[first[:-1]], ends[first[1:]]
    keep = ends - starts >= min_length
    return list(zip(rows[keep].tolist(), starts[keep].tolist(), (ends[keep] - 1).tolist(), strict=True))


def _bands(runs: list[tuple[int, int, int]], axis: int, skew: float) -> list[Line]:
    """Runs in adjacent rows that overlap are one line, as thick as the rows it spans."""
    lines: list[list[int]] = []  # [lo, hi, start, end]
    for row, start, end in sorted(runs):
        for line in lines:
            if line[1] >= row - 1 and start <= line[3] and end >= line[2]:
                line[1] = row
                line[2], line[3] = min(line[2], start), max(line[3], end)
                break
        else:
            lines.append([row, row, start, end])
    return [Line(axis, lo, hi, start, end, skew) for lo, hi, start, end in lines]


def _core(straight: np.ndarray, line: Line, coverage: float = COVERED) -> Line:
    """The band cut down to its core: the rows inked along `coverage` of its length, around its best
    covered row. A band with no such row (a line still stepped by a little skew) stays whole."""
    counts = row_counts(straight[line.lo:line.hi + 1, line.start:line.end + 1])
    covered = counts >= coverage * line.length
    if not covered.any() or covered.all():
        return line
    best = int(np.argmax(counts))
    lo = hi = best
    while lo > 0 and covered[lo - 1]:
        lo -= 1
    while hi < len(covered) - 1 and covered[hi + 1]:
        hi += 1
    return Line(line.axis, line.lo + lo, line.lo + hi, line.start, line.end, line.skew)


def _solid(straight: np.ndarray, line: Line, across: list[Line]) -> Line:
    """The band's SOLID rows where they run from one of the lines `across` it to another, as thick
    as they are (a cell's wall, between the row's top and bottom, printed alike), and are under half
    the band (a pen's stroke is solid across most of its width); else the band."""
    core = _core(straight, line, SOLID)
    ends = [other for other in across if abs(core.thickness - other.thickness) <= 1]
    walled = all(meets(at, ends) for at in (core.start, core.end))
    return core if walled and 2 * core.thickness <= line.thickness else line


def meets(at: int, across: list[Line]) -> bool:
    """Whether position `at` along a line lies on one of the lines `across` it (within EDGE px of its band)."""
    return any(other.lo - EDGE <= at <= other.hi + EDGE for other in across)


def full_thickness(straight: np.ndarray, line: Line) -> Line:
    """The line grown by the rows beside it that are inked along most of its length: a pen's stroke
    is thick there, where a printed line's neighbours are paper. Runs long enough to be found may
    lie only in a stroke's middle rows."""
    reach = 16
    while True:  # the coverage of rows within `reach` of the band, widened until the growth stops inside
        top, bottom = max(0, line.lo - reach), min(straight.shape[0], line.hi + reach + 1)
        # The rows' fractions of inked px, as mean(axis=1) gives them (in float64), 3x faster.
        covered = (row_counts(straight[top:bottom, line.start:line.end + 1]) / line.length >= COVERED).tolist()
        lo, hi = line.lo - top, line.hi - top
        while lo > 0 and covered[lo - 1]:
            lo -= 1
        while hi < len(covered) - 1 and covered[hi + 1]:
            hi += 1
        if (lo > 0 or top == 0) and (hi < len(covered) - 1 or bottom == straight.shape[0]):
            return Line(line.axis, lo + top, hi + top, line.start, line.end, line.skew)
        reach *= 4


def straight_runs(m: np.ndarray, axis: int, min_length: int,
                  max_skew: float = MAX_SKEW) -> tuple[np.ndarray | None, np.ndarray, list[Line]]:
    """Of a mask whose lines of `axis` run along its rows (a vertical line's mask transposed): the mask
    straightened (None where no line `min_length` px long can be there), its offset per column, and the
    bands of the runs at least `min_length` px long in it, as lines of `axis`."""
    if not may_hold_lines(m, min_length, max_skew):
        return None, np.zeros(m.shape[1], np.intp), []
    skew = skew_of(m, max_skew)
    straight, shift = straighten(m, skew)
    return straight, shift, _bands(long_runs(straight, min_length), axis, skew)


def find_lines(mask: np.ndarray, min_fraction: float,
               max_skew: float = MAX_SKEW) -> tuple[list[Line], dict[int, np.ndarray]]:
    """The straight lines at least `min_fraction` of the image long, both directions, skewed up to
    `max_skew` (tan), and for each direction the column (or row) shifts that straighten it."""
    bands: dict[int, tuple[np.ndarray, list[Line]]] = {}  # per direction: the straightened mask, its bands
    shifts: dict[int, np.ndarray] = {}
    for axis in (0, 1):
        m = mask if axis == 0 else np.ascontiguousarray(mask.T)  # 2x faster to scan than the view
        straight, shifts[axis], runs = straight_runs(m, axis, max(8, int(min_fraction * m.shape[1])), max_skew)
        if straight is not None:
            bands[axis] = straight, runs
    lines = {axis: [full_thickness(straight, b) for b in found] for axis, (straight, found) in bands.items()}
    found = {axis: [line for line in these if is_line(line)] for axis, these in lines.items()}
    # On ruled or squared paper, or in a box (lines found the other way), a band may be a line and the
    # writing across it: in a small crop a digit's columns beside a margin line are inked along half its
    # height (the ruling joins their runs), and make the line as thick as the digit. There a band is cut
    # to its core first. Without lines the other way bands stay whole: a tight crop's 1 runs from edge
    # to edge too.
    # A cell's wall with the digit's side along it (an 8 touching it) is too thick for a line with the
    # rows covered by both: then the line is its SOLID rows alone.
    for axis, (straight, these) in bands.items():
        if found.get(1 - axis):
            cores = [_core(straight, b) for b in these]
            grown = (whole if core is b else full_thickness(straight, core)
                     for b, core, whole in zip(these, cores, lines[axis], strict=True))
            across = found[1 - axis]
            found[axis] = [line for line in (line if is_line(line) else _solid(straight, line, across)
                                             for line in grown) if is_line(line)]
    return [line for axis in sorted(found) for line in found[axis]], shifts


def is_line(line: Line) -> bool:
    """Whether a band is at least MIN_ASPECT times as long as it is thick."""
    return line.length >= MIN_ASPECT * line.thickness


def band_pixels(line: Line, shape: tuple[int, int], shifts: dict[int, np.ndarray],
                grow: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) in the image of a line's band, `grow` px thicker on each side. `shifts`: the
    offsets `find_lines` returned."""
    h, w = shape if line.axis == 0 else shape[::-1]
    cols = np.arange(max(0, line.start), min(w, line.end + 1))
    offsets = np.arange(line.lo - grow, line.hi + grow + 1)
    rows = offsets[:, None] - shifts[line.axis][cols][None, :]
    if rows.size and rows.min() >= 0 and rows.max() < h:  # all inside the image (2x faster than selecting)
        rows, cols = rows.ravel(), np.tile(cols, len(offsets))
    else:
        inside, at = nonzero((rows >= 0) & (rows < h))
        rows, cols = rows[inside, at], cols[at]
    return (rows, cols) if line.axis == 0 else (cols, rows)


def crossed(writing: np.ndarray, line: Line, offset: np.ndarray) -> np.ndarray:
    """Per position along the line (line.start..line.end): whether a stroke crosses it there, i.e.
    writing lies within CROSSING px beyond both edges of the band, at most CROSSING px along."""
    w = writing if line.axis == 0 else writing.T  # a vertical line is a horizontal one of the transpose
    h, width = w.shape
    at = np.arange(line.start, line.end + 1)
    near = [np.zeros(len(at), bool), np.zeros(len(at), bool)]
    for step in range(1, CROSSING + 1):
        for side, row in ((0, line.lo - 1 - step), (1, line.hi + 1 + step)):
            rows = row - offset[at]  # image rows of this straightened row, per column
            inside = (rows >= 0) & (rows < h)
            near[side][inside] |= w[rows[inside], at[inside]]
    both = np.zeros(len(at), bool)
    n = len(at)
    for along in range(-CROSSING, CROSSING + 1):  # a slanted stroke meets the two edges a little apart
        lo, hi = max(0, along), n + min(0, along)
        both[lo:hi] |= near[0][lo - along:hi - along] & near[1][lo:hi]
    return both


def crossings(writing: np.ndarray, line: Line, band: tuple[np.ndarray, np.ndarray],
              shifts: dict[int, np.ndarray]) -> np.ndarray:
    """Per pixel of a line's `band` (its `band_pixels`): whether a stroke of `writing` crosses the
    line there, so that the pixel stays when the line is erased."""
    rows, cols = band
    return crossed(writing, line, shifts[line.axis])[(cols if line.axis == 0 else rows) - line.start]
