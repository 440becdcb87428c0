"""The paper's own structure in an ink map, recognised and removed: notebook ruling, squared paper,
margin lines, printed boxes and form cells; and what lies outside the paper (a desk at a photo's edge).

A long straight line is paper, not writing, when it is thin beside the handwriting's strokes, when
it runs well past the writing on both sides, when it is one of a family of parallel lines (ruling,
a grid, cells), or when it is a side of a frame around the writing. A hand's long stroke (the bar of
a 7, a lone 1) is none of these. Where a removed line crossed a stroke, the stroke stays whole.
"""

from __future__ import annotations

import numpy as np

from .imageops import component_boxes, label_components
from .lines import MIN_ASPECT, Line, band_pixels, find_lines

MIN_LINE = 0.4  # a candidate line is at least this fraction of the image long
THIN = 0.6  # a line at most this fraction of the writing's stroke width is printed, not written
BEYOND = 0.25  # ...or it runs past the writing by this fraction of the writing's extent on both ends
FAMILY = 3  # ...or it is one of at least this many parallel lines
GRID_LENGTH = 0.8  # ...or it runs along this fraction of the image across such a family (squared paper)
HAIRLINE = 0.03  # with no other writing, a line thinner than this fraction of the image is paper;
EDGE_TO_EDGE = 0.06  # ...or thinner than this, when it runs from edge to edge (a margin line, ruling)
CORNER = 0.15  # lines meeting within this fraction of the image close a frame (room for rounded corners)
TIGHT = 0.03  # a cell's divider reaches the cell's top and bottom lines within this fraction
ALIKE = 2.0  # a rectangle's sides are at most this many times as thick as its top and bottom
ASPECT = 10  # a line on its own is this many times as long as it is thick; a pen's stroke rarely is
FAINT = 0.6  # a line at most this fraction of the writing's ink strength is printed (pale ruling)
MAIN = 0.2  # pieces of writing with this fraction of the largest piece's ink count for its extent,
TICK = 0.5  # ...but not those touching the line with less than this fraction (a comb's ticks), which
SHORT = 0.6  # ...are also removed when shorter than this fraction of the largest piece, and thin
SOFT = 0.06  # edges changing by less than this fraction of the region's peak ink per px are shading,
SHADE = 0.35  # ...when the region is no darker than this against the paper
CROSSING = 2  # px: a stroke with ink this close on both sides of a removed line crosses it
# A region touching the border and running along this fraction of the image, filling this fraction of
# its bounding box, is not writing; it is removed when at least MIN_REST of the image holds other ink.
SOLID_BORDER, SOLID_FILL, MIN_REST = 0.5, 0.7, 0.0005


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


def _position(line: Line, shift: np.ndarray) -> float:
    """Where a line lies across its direction, in image coordinates (a horizontal line's row)."""
    return (line.lo + line.hi) / 2 - float(shift[(line.start + line.end) // 2])


def _frames(lines: list[Line], shifts: dict[int, np.ndarray], shape: tuple[int, int], ruling: set[int]) -> set[int]:
    """Lines that close rectangles: two horizontal lines and the vertical lines between them: at their
    ends (a printed box, its corners perhaps rounded) or along them, reaching both closely (the
    dividers of a form's row of cells). A rectangle needs two sides, or one where the horizontal
    lines run out of the image. Between two lines of a ruling (`ruling`: families), a side must be as
    thin as they are: a box is printed alike, where a digit's straight sides are written."""
    corner = max(3.0, CORNER * min(shape))
    tight = max(3.0, TIGHT * min(shape))
    pos = [_position(line, shifts[line.axis]) for line in lines]
    horizontal = [i for i, line in enumerate(lines) if line.axis == 0]
    vertical = [i for i, line in enumerate(lines) if line.axis == 1]
    found: set[int] = set()
    for a in horizontal:
        for b in horizontal:
            if pos[b] - pos[a] < 2 * corner:
                continue
            span = (pos[a], pos[b], max(lines[a].start, lines[b].start), min(lines[a].end, lines[b].end))
            printed = max(lines[a].thickness, lines[b].thickness)  # a form's lines are printed alike
            thickest = printed + 1 if a in ruling and b in ruling else ALIKE * printed
            sides = [v for v in vertical if lines[v].thickness <= thickest
                     and _is_side(lines[v], pos[v], span, corner, tight)]
            runs_out = min(lines[a].start, lines[b].start) <= 1 or max(lines[a].end, lines[b].end) >= shape[1] - 2
            if len(sides) >= 2 or (sides and runs_out):
                found |= {a, b, *sides}
    return found


def _is_side(line: Line, at: float, span: tuple[float, float, int, int], corner: float, tight: float) -> bool:
    """Whether a vertical line at column `at` joins a rectangle's top and bottom (rows span[0], span[1],
    columns span[2]..span[3]): near an end of them it may fall short by a rounded corner; between them
    it must reach both."""
    top, bottom, left, right = span
    at_end = min(abs(at - left), abs(at - right)) <= corner
    reach = corner if at_end else tight + line.thickness
    return left - corner <= at <= right + corner and abs(line.start - top) <= reach and abs(line.end - bottom) <= reach


def _families(lines: list[Line], shape: tuple[int, int]) -> set[int]:
    """Lines with at least FAMILY - 1 others of their direction, length and thickness (ruling, a grid,
    a row of cells), and the grid's lines across them."""
    found = set()
    for i, line in enumerate(lines):
        alike = [other for other in lines if other.axis == line.axis
                 and 0.5 <= other.thickness / line.thickness <= 2 and 0.8 <= other.length / line.length <= 1.25]
        if len(alike) >= FAMILY and line.length >= ASPECT * line.thickness:
            found.add(i)
    return found | _grid(lines, found, shape)


def _grid(lines: list[Line], families: set[int], shape: tuple[int, int]) -> set[int]:
    """Lines across a family that are printed alike and run the image's length: the other direction of
    squared paper, whose few lines in a small crop are no family of their own."""
    found = set()
    for axis in (0, 1):
        family = [lines[i].thickness for i in families if lines[i].axis == 1 - axis]
        if not family:
            continue
        printed, along = float(np.median(family)), shape[1] if axis == 0 else shape[0]
        found |= {i for i, line in enumerate(lines) if line.axis == axis and line.length >= GRID_LENGTH * along
                  and 0.5 <= line.thickness / printed <= ALIKE}
    return found


def _strength(ink: np.ndarray, where: np.ndarray | tuple[np.ndarray, np.ndarray]) -> float:
    """The median ink strength (darkness against the paper) of some pixels; 0 for none."""
    values = ink[where]
    return float(np.median(values)) if values.size else 0.0


def _inked(pixels: tuple[np.ndarray, np.ndarray], mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pixels among `pixels` that hold ink."""
    inked = mask[pixels]
    return pixels[0][inked], pixels[1][inked]


def _lone_line_is_paper(line: Line, writing: np.ndarray, shape: tuple[int, int], faint: bool,
                        beside: tuple[np.ndarray, np.ndarray]) -> bool:
    """A line on its own is paper when it is fainter or thinner than the writing, or runs well past it
    on both ends; with no writing at all, when it is a hairline. `beside`: the pixels along the line's
    band, where a form's ticks hang off it."""
    width = stroke_width(writing)
    across = shape[0] if line.axis == 0 else shape[1]
    if width == 0:
        along = shape[1] if line.axis == 0 else shape[0]
        edge_to_edge = line.start <= 2 and line.end >= along - 3
        return line.thickness <= (EDGE_TO_EDGE if edge_to_edge else HAIRLINE) * across
    if faint or line.thickness <= THIN * width:
        return True
    extent = _extent(_main_writing(writing, beside), line.axis)
    if extent is None:
        return False
    margin = BEYOND * (extent[1] - extent[0] + 1)
    return line.start <= extent[0] - margin and line.end >= extent[1] + margin


def _main_writing(writing: np.ndarray, beside: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The writing's substantial pieces: its largest and those with at least MAIN of its ink. Small
    pieces (a printed label, specks) do not stretch the writing's extent, nor do pieces under TICK of
    the largest that touch `beside` (the ticks of a form's comb of cells hang off its baseline)."""
    labels = label_components(writing)
    if labels.max() <= 1:
        return writing
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    keep = sizes >= MAIN * sizes.max()
    touching = np.zeros(len(sizes), bool)
    touching[labels[beside]] = True
    keep &= ~(touching & (sizes < TICK * sizes.max()))
    return np.isin(labels, np.flatnonzero(keep))


def _without(mask: np.ndarray, bands: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    out = mask.copy()
    for band in bands:
        out[band] = False
    return out


def remove_lines(ink: np.ndarray, mask: np.ndarray, faint: np.ndarray | None = None) -> np.ndarray:
    """`ink` (H, W) float with the paper's lines zeroed; `mask` (H, W) bool says where ink is. When the
    paper is ruled or squared, its fainter lines (a grid's minor lines, whose crossings alone reach the
    mask) are looked for again in `faint`, a mask at a lower threshold, if given."""
    out, ruled = _remove_lines(ink, mask)
    if ruled and faint is not None:
        out, _ = _remove_lines(out, faint)
    return out


def _remove_lines(ink: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, bool]:
    """(`ink` with the paper's lines in `mask` zeroed, whether some of them were a family)."""
    lines, shifts = find_lines(mask, MIN_LINE)
    if not lines:
        return ink, False
    bands = [band_pixels(line, mask.shape, shifts, grow=1) for line in lines]
    cores = [_inked(band_pixels(line, mask.shape, shifts), mask) for line in lines]  # the line's own ink
    # Each line is judged against the writing without any of the lines, so that two lines of an empty
    # page do not pass each other off as writing.
    writing = _without(mask, bands)
    # The straight part of a stroke (the side of a 0, a 1) runs on into the writing at both ends; a
    # printed line ends at the paper's edge, at another line, or in the clear.
    printed = [i for i, line in enumerate(lines) if not _continued(line, writing, shifts)]
    families = {printed[i] for i in _families([lines[i] for i in printed], mask.shape)}
    frames = _frames(lines, shifts, mask.shape, families)
    # A box's own pixels, however dark in places, are the box; a grid's line crossing a stroke is not.
    boxes = frames - families
    paper = frames | families
    lone = []  # (line, the pixels beside its band) of each paper line standing alone
    for i, line in enumerate(lines):
        if i not in printed or i in paper:
            continue
        faint = _strength(ink, cores[i]) <= FAINT * _strength(ink, writing)
        long = line.length >= (MIN_ASPECT if faint else ASPECT) * line.thickness  # a pale line may be short
        beside = band_pixels(line, mask.shape, shifts, grow=CROSSING)
        if long and _lone_line_is_paper(line, writing, mask.shape, faint, beside):
            paper.add(i)
            lone.append((line, beside))
    writing = _without(mask, [bands[i] for i in paper])
    out = ink.copy()
    pen = _strength(ink, writing)
    for i in paper:
        line, (rows, cols) = lines[i], bands[i]
        crossed = _crossed(writing, line, shifts[line.axis])
        keep = crossed[(cols if line.axis == 0 else rows) - line.start]
        # Where the line is much fainter than the pen, the pen's pixels on it are writing, wherever
        # they are: a stroke running along the line stays too.
        printed = _strength(ink, cores[i])
        if i not in boxes and printed <= FAINT * pen:
            keep |= ink[rows, cols] >= (printed + pen) / 2
        out[rows[~keep], cols[~keep]] = 0
    if lone:
        out[_ticks(writing, lone)] = 0
    return out, bool(families)


def _ticks(writing: np.ndarray, lone: list[tuple[Line, tuple[np.ndarray, np.ndarray]]]) -> np.ndarray:
    """The ticks of a comb of cells: pieces of writing touching a lone paper line (`lone`: each line and
    the pixels beside its band) that are thin across it and short beside the largest piece."""
    labels = label_components(writing)
    count = int(labels.max())
    if count <= 1:
        return np.zeros_like(writing)
    boxes = component_boxes(labels)
    extents = [boxes[:, 1] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 2] + 1]  # heights, widths
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    sizes[0] = 0
    big = int(np.argmax(sizes))
    ticks = []
    for line, beside in lone:
        across, along = extents if line.axis == 0 else extents[::-1]
        ticks += [t for t in np.unique(labels[beside]).tolist() if t and sizes[t] < TICK * sizes[big]
                  and across[t] < SHORT * across[big] and across[t] >= 3 * along[t]]
    return np.isin(labels, ticks)


def _continued(line: Line, writing: np.ndarray, shifts: dict[int, np.ndarray]) -> bool:
    """Whether writing lies just beyond both ends of a line, within its band's rows (CROSSING px wider)
    and as far along as the line is thick. A line reaching that close to the image's edge ends there."""
    w = writing if line.axis == 0 else writing.T
    h, width = w.shape
    reach = max(2, line.thickness)

    def inked(cols: np.ndarray) -> bool:
        if cols[0] < 0 or cols[-1] >= width:
            return False
        rows = np.arange(line.lo - CROSSING, line.hi + CROSSING + 1)[:, None] - shifts[line.axis][cols][None, :]
        inside = (rows >= 0) & (rows < h)
        return bool(w[rows[inside], np.broadcast_to(cols, rows.shape)[inside]].any())

    return inked(np.arange(line.start - reach, line.start)) and inked(np.arange(line.end + 1, line.end + 1 + reach))


def _crossed(writing: np.ndarray, line: Line, offset: np.ndarray) -> np.ndarray:
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


def outside_paper(mask: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Solid regions along the image's border: a desk, the paper's edge or a deep shadow in a photo,
    not writing. Returns their mask; nothing when they would be all the ink there is (a thick
    stroke of a tightly cropped digit touches the border too). `labels`: the mask's components."""
    out = np.zeros_like(mask)
    if not labels.any():
        return out
    border = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    touching = np.bincount(border, minlength=int(labels.max()) + 1)
    touching[0] = 0
    for label in np.flatnonzero(touching):
        region = labels == label
        rows, cols = np.flatnonzero(region.any(1)), np.flatnonzero(region.any(0))
        height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
        long = max(height / mask.shape[0], width / mask.shape[1]) >= SOLID_BORDER
        if long and region.sum() >= SOLID_FILL * height * width:
            out |= region
    rest = mask & ~out
    return out if rest.sum() >= MIN_REST * mask.size else np.zeros_like(mask)


def soft_regions(ink: np.ndarray, mask: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Faint regions of `mask` whose edges are soft: shading, a shadow or a vignette, not writing.
    Ink falls off within a pixel or two of a stroke's edge; a shadow's darkness fades over tens of
    pixels. Sharpness: the mean change of ink per px across a region's edge, over its peak.
    `labels`: the mask's components."""
    count = int(labels.max())
    if not count:
        return np.zeros_like(mask)
    grad = np.zeros_like(ink)
    grad[:-1] += np.abs(np.diff(ink, axis=0))
    grad[:, :-1] += np.abs(np.diff(ink, axis=1))
    inner = mask.copy()  # the mask eroded by one pixel: its edge is what remains
    inner[1:] &= mask[:-1]
    inner[:-1] &= mask[1:]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    edge = mask & ~inner
    edge_sum = np.bincount(labels[edge], weights=grad[edge], minlength=count + 1)
    edge_len = np.bincount(labels[edge], minlength=count + 1)
    peak = np.zeros(count + 1)
    np.maximum.at(peak, labels[mask], ink[mask])
    sharpness = edge_sum / np.maximum(edge_len, 1) / np.maximum(peak, 1e-6)
    soft = np.flatnonzero((sharpness < SOFT) & (peak < SHADE))  # an upscaled digit is soft, but dark
    soft = soft[soft > 0]
    return np.isin(labels, soft) if soft.size else np.zeros_like(mask)
