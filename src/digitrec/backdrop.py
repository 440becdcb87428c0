"""What lies outside the paper in a photo: a desk or the paper's edge along the border, and the soft
shading of shadows and vignettes. Neither is writing; `ink` removes both before the paper's lines."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .imageops import among, box_mean, component_boxes, label_components, morph
from .lines import EDGE, PHOTO_SKEW, find_lines

SOFT = 0.06  # edges changing by less than this fraction of the region's peak ink per px are shading,
SHADE = 0.35  # ...when the region is no darker than this against the paper
# A region touching the border and running along this fraction of the image, filling this fraction of
# its bounding box, is not writing; it is removed when at least MIN_REST of the image holds other ink.
SOLID_BORDER, SOLID_FILL, MIN_REST = 0.5, 0.7, 0.0005
ALONG = 0.9  # ...or holding this fraction of its solid part in strips along the border (`_strips`)
# The paper's edge: a straight line across the whole image within this fraction of it from a border,
# with the desk beyond it at least DESK_TONE (of full scale) lighter or darker than the paper inside.
EDGE_ZONE, DESK_TONE = 0.25, 0.08
STROKE = 4  # px: the desk's region is opened by this much, which no stroke or ruling line survives
COMPACT = 3  # a digit's strokes standing out inside such a region are at most this many times as long as wide


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
        if not long:
            continue
        solid = _solid_part(region, rows, cols)
        if region.sum() >= SOLID_FILL * height * width:
            out |= solid
            continue
        # A desk seen along two or three sides of a page turned a little, or joined by the page's ruling
        # lines, fills little of its box: it is desk where its solid part is long and keeps to the
        # border (a tightly cropped digit's strokes reach the middle); else its strips along the border
        # are, where they hold nearly all of that part (a digit joined to them stays).
        strips = _strips(region)
        if _long(solid) and not _in_the_middle(solid):
            out |= solid | strips
        elif np.count_nonzero(strips) >= ALONG * np.count_nonzero(solid):
            out |= strips
    rest = mask & ~out
    return out if rest.sum() >= MIN_REST * mask.size else np.zeros_like(mask)


def _long(mask: np.ndarray) -> bool:
    """Whether `mask`'s ink runs along at least SOLID_BORDER of the image's height or width."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return bool(rows.size) and max((rows[-1] - rows[0] + 1) / mask.shape[0],
                                   (cols[-1] - cols[0] + 1) / mask.shape[1]) >= SOLID_BORDER


def _middle(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1), ends exclusive: the image's middle, EDGE_ZONE or more from every border."""
    h, w = shape
    return int(EDGE_ZONE * h), h - int(EDGE_ZONE * h), int(EDGE_ZONE * w), w - int(EDGE_ZONE * w)


def _in_the_middle(mask: np.ndarray) -> bool:
    """Whether `mask` has ink in the image's middle (`_middle`)."""
    y0, y1, x0, x1 = _middle(mask.shape)
    return bool(mask[y0:y1, x0:x1].any())


def _strips(region: np.ndarray) -> np.ndarray:
    """The pixels of `region` in runs from the image's border at most EDGE_ZONE of it deep, on each side
    where such runs line at least SOLID_BORDER of it: strips and wedges of desk beside a page
    photographed a little turned (a tightly cropped digit's strokes run from the border far deeper)."""
    out = np.zeros_like(region)
    # Each side's rows run from the border at column 0 of a view: left, right, top, bottom.
    for side, mark in ((region, out), (region[:, ::-1], out[:, ::-1]), (region.T, out.T),
                       (region.T[:, ::-1], out.T[:, ::-1])):
        leading = np.cumprod(side, axis=1, dtype=np.uint8)  # 1 up to a row's first paper pixel from the border
        depth = leading.sum(axis=1, dtype=np.intp)
        shallow = (depth > 0) & (depth <= EDGE_ZONE * side.shape[1])
        if np.count_nonzero(shallow) >= SOLID_BORDER * side.shape[0]:
            mark |= leading.astype(bool) & shallow[:, None]  # `mark` is a view of `out`
    return out


def _solid_part(region: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The region less its thin parts (an opening by STROKE px): a digit written up to the paper's edge,
    or a ruling line joining it to the desk, is writing and paper, not the desk. `rows`, `cols`: the
    region's inked rows and columns."""
    y0, y1, x0, x1 = max(rows[0] - STROKE, 0), rows[-1] + STROKE + 1, max(cols[0] - STROKE, 0), cols[-1] + STROKE + 1
    crop = region[y0:y1, x0:x1].astype(np.uint8)
    opened = morph(morph(crop, -STROKE), STROKE + 1)  # grown one px further: the desk's soft rim goes too
    out = np.zeros_like(region)
    out[y0:y1, x0:x1] = opened.astype(bool) & region[y0:y1, x0:x1]
    return out


def beyond_paper_edges(g: np.ndarray, mask: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The paper's edges in a photo and the desk beyond them: a long straight line of `mask` across
    the whole image near a border, the strip between it and the border a different tone in the gray
    image `g` than as wide a strip of paper inside. Returns their mask (the line's band included).
    A line whose band runs along the border itself is that strip of desk (a page turned a little
    leaves a thin wedge of desk down one side): it goes where nothing it joins (`labels`: the mask's
    components) reaches the image's middle, as the bar of a tightly cropped 7 does through its stem."""
    out = np.zeros_like(mask)
    lines, shifts = find_lines(mask, 1 - 2 * EDGE_ZONE, PHOTO_SKEW)
    for line in lines:
        # A vertical line is a horizontal one of the transpose.
        gray, seen, parts = (g, out, labels) if line.axis == 0 else (g.T, out.T, labels.T)
        across, along = gray.shape
        if not all(line.reaches(along)):
            continue
        top, bottom = line.lo - shifts[line.axis], line.hi - shifts[line.axis]  # image rows per column
        rows = np.arange(across)[:, None]
        if bottom.max() < EDGE_ZONE * across:  # beyond: toward row 0
            strip = top.min() <= EDGE  # the band is the desk's strip along the border
            beyond = rows <= bottom[None, :] if strip else rows < top[None, :]
            depth = max(1, int(bottom.mean()) + 1 if strip else int(top.mean()))
            inside = (rows > bottom[None, :]) & (rows <= bottom[None, :] + depth)
            band = rows <= bottom[None, :] + 1
        elif top.min() > (1 - EDGE_ZONE) * across:
            strip = bottom.max() >= across - 1 - EDGE
            beyond = rows >= top[None, :] if strip else rows > bottom[None, :]
            depth = max(1, int(across - top.mean()) if strip else int(across - 1 - bottom.mean()))
            inside = (rows < top[None, :]) & (rows >= top[None, :] - depth)
            band = rows >= top[None, :] - 1
        else:
            continue
        if strip and _reaches_the_middle(parts, band):
            continue
        if beyond.any() and inside.any():
            if abs(float(np.median(gray[beyond])) - float(np.median(gray[inside]))) >= DESK_TONE:
                seen |= band  # `seen` is `out` (or its transpose): the desk and the edge's band
    return out


def _reaches_the_middle(labels: np.ndarray, band: np.ndarray) -> bool:
    """Whether a component of `labels` inked in `band` has a solid part (what an opening by STROKE px
    leaves: no ruling line joined to the desk) in the image's middle (`_middle`)."""
    ids = np.zeros(int(labels.max()) + 1, bool)
    ids[labels[band & (labels > 0)]] = True
    ids[0] = False
    y0, y1, x0, x1 = _middle(labels.shape)
    middle = ids[labels[max(0, y0 - STROKE):y1 + STROKE, max(0, x0 - STROKE):x1 + STROKE]].astype(np.uint8)
    if not middle.any():
        return False
    solid = morph(morph(middle, -STROKE), STROKE)
    return bool(solid[y0 - max(0, y0 - STROKE):, x0 - max(0, x0 - STROKE):][:y1 - y0, :x1 - x0].any())


def soft_regions(ink: np.ndarray, mask: np.ndarray, labels: np.ndarray,
                 strokes: Callable[[], np.ndarray]) -> np.ndarray:
    """Faint regions of `mask` whose edges are soft: shading, a shadow or a vignette, not writing.
    Ink falls off within a pixel or two of a stroke's edge; a shadow's darkness fades over tens of
    pixels. Sharpness: the mean change of ink per px across a region's edge, over its peak.
    `labels`: the mask's components. A digit written in a shadow stands out of it (`strokes()`: where
    the ink does, `standing_out`, computed on first need): its strokes stay."""
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
    return among(labels, soft) & ~strokes() if soft.size else np.zeros_like(mask)


def standing_out(ink: np.ndarray, floor: float) -> np.ndarray:
    """Where `ink` stands out of its local floor by more than `floor` (a top-hat: the floor is a grey
    opening, which no stroke or line under 2 * STROKE px wide survives, and which follows shading)."""
    return box_mean(ink - morph(morph(ink, -STROKE), STROKE), 1) > floor


def written_across(strokes: Callable[[], np.ndarray], mask: np.ndarray, beyond: np.ndarray) -> np.ndarray:
    """The strokes inside `beyond` (what `beyond_paper_edges` took for the desk) that go on from writing
    on the paper: pixels standing out of their local floor (`strokes()`, as `soft_regions` takes it)
    and joined to ink of `mask` outside `beyond`. A shading band along the paper's edge can look like
    the edge; the lower halves of digits written in it are strokes still."""
    inside = strokes() & beyond
    if not inside.any():
        return inside
    paper = mask & ~beyond
    labels = label_components(inside | paper)
    joined = np.zeros(int(labels.max()) + 1, bool)
    joined[labels[paper]] = True
    joined[0] = False
    return joined[labels] & inside


def written_inside(strokes: Callable[[], np.ndarray], region: np.ndarray) -> np.ndarray:
    """The strokes inside `region` (what `outside_paper` took for a deep shadow or the desk) that stand
    out of their local floor (`strokes()`, as `soft_regions` takes it) as a digit does: each piece no
    more than COMPACT times as long as it is wide. A digit written into a dark shadow along the frame
    is inside its solid region; what else stands out there is the paper's edge or the region's own,
    long and thin."""
    labels = label_components(strokes() & region)
    if not labels.any():
        return np.zeros_like(region)
    boxes = component_boxes(labels)
    heights, widths = boxes[:, 1] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 2] + 1
    compact = np.maximum(heights, widths) <= COMPACT * np.minimum(heights, widths)
    compact[0] = False
    return compact[labels]
