"""Small numpy operations on 2-D images that preprocessing is built from: padding, box means, medians
and quantiles, connected components and grey-level morphology.

Preprocessing runs once per request in the server, on images of a few hundred pixels a side, where
numpy's Python-level overhead (np.pad alone cost about 50 us a call) matters as much as the arithmetic:
these helpers make few calls and few temporaries.
"""

from __future__ import annotations

import numpy as np


def pad(x: np.ndarray, rows: tuple[int, int], cols: tuple[int, int], edge: bool = False,
        value: float = 0) -> np.ndarray:
    """`x` (H, W) with rows[0] rows above, rows[1] below, cols[0] columns left and cols[1] right,
    holding `value`, or with `edge` copies of the nearest edge pixel (np.pad's "edge")."""
    h, w = x.shape
    (top, bottom), (left, right) = rows, cols
    out = np.empty((top + h + bottom, left + w + right), x.dtype)
    out[top:top + h, left:left + w] = x
    if edge:
        out[top:top + h, :left] = x[:, :1]
        out[top:top + h, left + w:] = x[:, -1:]
        out[:top] = out[top]
        out[top + h:] = out[top + h - 1]
    else:
        out[:top] = value
        out[top + h:] = value
        out[top:top + h, :left] = value
        out[top:top + h, left + w:] = value
    return out


def box_mean(x: np.ndarray, r: int) -> np.ndarray:
    """Mean over (2r+1)x(2r+1) windows, edges replicated. Separable sums of shifted slices: for the
    small radii used here (at most 2 on a 512 px image), 5-10x faster than 2-D cumulative sums."""
    if r <= 0:
        return x
    k = 2 * r + 1
    h, w = x.shape
    p = pad(x, (r, r), (r, r), edge=True)
    rows = p[:h] + p[1:h + 1]  # (h, w + 2r)
    for i in range(2, k):
        rows += p[i:i + h]
    # The columns' sums over the rows laid end to end, as one contiguous run (2x faster than row by
    # row): the sum at each row's first w positions holds that row's own columns alone, the same
    # additions in the same order; the 2r positions after them, which straddle two rows, are dropped.
    flat, n = rows.ravel(), rows.size - 2 * r
    sums = np.empty(rows.size, np.float32)
    np.add(flat[:n], flat[1:n + 1], out=sums[:n])
    for j in range(2, k):
        sums[:n] += flat[j:j + n]
    return np.multiply(sums.reshape(h, w + 2 * r)[:, :w], np.float32(1 / (k * k)))


def sampled_box_mean(x: np.ndarray, r: int) -> np.ndarray:
    """sample(box_mean(x, r)), the same sums in the same order, computed at the sampled pixels alone."""
    if r <= 0:
        return sample(x)
    h, w = x.shape
    k = max(1, max(h, w) // 64)  # as `sample` takes them
    # Row i of the window of each sampled row, then of each sampled column, edges replicated.
    at_y = np.minimum(np.maximum(np.arange(-r, h + r), 0), h - 1)  # np.clip's values in under half its time
    at_x = np.minimum(np.maximum(np.arange(-r, w + r), 0), w - 1)
    ys = [at_y[i:i + h:k] for i in range(2 * r + 1)]
    xs = [at_x[j:j + w:k] for j in range(2 * r + 1)]
    rows = x[ys[0]] + x[ys[1]]  # (sampled rows, w)
    for i in ys[2:]:
        rows += x[i]
    out = rows.take(xs[0], axis=1) + rows.take(xs[1], axis=1)
    for j in xs[2:]:
        out += rows.take(j, axis=1)
    out *= np.float32(1 / (2 * r + 1) ** 2)
    return out


def median(x: np.ndarray) -> float:
    """The (upper) median. A full sort: np.partition degrades badly on the many equal values of
    paper (5-8x slower than sorting here), and np.median would import numpy.ma (10-20 ms start-up)."""
    flat = np.sort(x, axis=None)
    return float(flat[flat.size // 2])


def np_median(x: np.ndarray) -> float:
    """np.median of a non-empty 1-D array (for an even count, the middle two's mean in their dtype),
    partitioned as np.median partitions it, without its 20 us of overhead."""
    k = x.size // 2
    if x.size % 2:
        return float(np.partition(x, k)[k])
    middle = np.partition(x, (k - 1, k))
    return float((middle[k - 1] + middle[k]) / middle.dtype.type(2))


def np_lower_quartile(x: np.ndarray) -> float:
    """np.quantile(x, 0.25) of a non-empty 1-D float array, computed as numpy 2 computes it (the two
    neighbours interpolated in x's dtype, from the upper one when its weight is 1/2 or more), without its
    30 us of overhead."""
    s = np.sort(x)
    at = (len(s) - 1) * 0.25
    i = int(at)
    t = at - i  # 0, 0.25, 0.5 or 0.75: exact in float32
    a, b = s[i], s[min(i + 1, len(s) - 1)]
    return float(a + (b - a) * np.float32(t)) if t < 0.5 else float(b - (b - a) * np.float32(1 - t))


def quantile_sorted(s: np.ndarray, q: float) -> np.ndarray:
    """The q-quantile (0..1) along the last axis of `s`, which is sorted along it, interpolated
    linearly as np.percentile does (whose partitioning is slow on the many equal values of paper)."""
    pos = q * (s.shape[-1] - 1)
    i, j = int(pos), min(int(pos) + 1, s.shape[-1] - 1)
    return s[..., i] + (pos - i) * (s[..., j] - s[..., i])


def sample(x: np.ndarray) -> np.ndarray:
    """Every k-th pixel along both axes, at most about 64x64 of them: medians of the paper are
    as good from these and far cheaper."""
    k = max(1, max(x.shape) // 64)
    return x[::k, ::k]


def nonzero(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.nonzero of a 2-D array, (rows, cols) in raster order: from the flat indices, 4x faster."""
    return np.divmod(np.flatnonzero(x), x.shape[1])


def row_counts(mask: np.ndarray) -> np.ndarray:
    """The ink pixels in each row of a 2-D mask: np.count_nonzero(mask, axis=1), 3-4x faster (in uint16
    where a row's count fits: 1.5x faster than in uint32)."""
    mask = np.asarray(mask, dtype=bool)
    return np.add.reduce(mask.view(np.uint8), axis=1, dtype=np.uint16 if mask.shape[1] < 2**16 else np.uint32)


def row_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, start, end (exclusive)) of every run of ink in each row of a 2-D mask, in raster order."""
    mask = np.asarray(mask, dtype=bool)
    h, w = mask.shape
    if not w:
        return np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0, np.intp)
    # Where a row changes, (h, w + 1), the image's edges counting as paper: numpy finds the nonzeros of
    # a bool array 7x faster than of an int8 diff. Each row's changes alternate start, end: in raster
    # order they pair up.
    changes = np.empty((h, w + 1), bool)
    changes[:, 0], changes[:, w] = mask[:, 0], mask[:, -1]
    np.not_equal(mask[:, 1:], mask[:, :-1], out=changes[:, 1:w])
    rows, cols = nonzero(changes)
    return rows[0::2], cols[0::2], cols[1::2]


def label_components(mask: np.ndarray) -> np.ndarray:
    """8-connected component labels (0: background, then 1, 2... in order of each one's first pixel)."""
    runs, label = run_components(mask)
    return paint_runs(mask.shape, runs, label)


def run_components(mask: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """(the rows' runs of ink as `row_runs` gives them, each run's `label_components` label): the labels
    without the image of them, which a caller wanting only the count or the extent of one piece skips.
    Works on the runs, not on pixels: runs in adjacent rows that touch (diagonally too) are joined, and
    the runs' graph is solved by hooking each run to the smallest run it touches and following
    pointers, a few rounds. A 600x200 number took 6 ms per call as a pixel-pointer version."""
    w = mask.shape[1]
    rows, starts, ends = row_runs(mask)
    if not len(starts):
        return (rows, starts, ends), np.zeros(0, np.int64)
    # A run in row r touches the runs of row r + 1 that start at most at its end and end at least at its
    # start (8-connected): a contiguous range of them, found by binary search on raster positions.
    stride = w + 2
    start_at, end_at = rows * stride + starts, rows * stride + ends
    lo = np.searchsorted(end_at, start_at + stride, side="left")
    hi = np.searchsorted(start_at, end_at + stride, side="right")
    count = np.maximum(hi - lo, 0)
    a = np.repeat(np.arange(len(starts)), count)
    b = np.arange(int(count.sum())) + np.repeat(lo - (np.cumsum(count) - count), count)  # lo, lo + 1... per run
    parent = np.arange(len(starts))
    while True:
        hooked = parent[a]
        if (hooked == parent[b]).all():  # every touching pair of runs has one root
            break
        low = np.minimum(hooked, parent[b])
        np.minimum.at(parent, hooked, low)
        np.minimum.at(parent, parent[b], low)
        while ((jumped := parent[parent]) != parent).any():
            parent = jumped
    return (rows, starts, ends), np.cumsum(parent == np.arange(len(starts)))[parent]  # roots: each blob's first run


def paint_runs(shape: tuple[int, int], runs: tuple[np.ndarray, np.ndarray, np.ndarray], label: np.ndarray,
               paper: float = 0) -> np.ndarray:
    """The (H, W) image of `run_components`' labels, or of any value per run (`label`, whose dtype it
    takes), `paper` off the runs."""
    h, w = shape
    rows, starts, ends = runs
    if not len(starts):
        return np.full((h, w), paper, label.dtype)
    # The image in raster order is paper, run, paper, run... paper (some of the paper empty): each run's
    # value and the paper's between, repeated (3x faster than a full image, then the ink's pixels set).
    bounds = np.empty(2 * len(starts) + 2, np.intp)
    bounds[0], bounds[-1] = 0, h * w
    bounds[1:-1:2], bounds[2:-1:2] = rows * w + starts, rows * w + ends
    values = np.full(2 * len(starts) + 1, paper, label.dtype)
    values[1::2] = label
    return np.repeat(values, np.diff(bounds)).reshape(h, w)


def among(labels: np.ndarray, wanted: object) -> np.ndarray:
    """np.isin(labels, wanted) for a label map of non-negative ints: a comparison per label for a few,
    a lookup table for more (np.isin sorts: 10-40x slower on a digit's crop)."""
    wanted = np.asarray(wanted, dtype=np.int64).ravel()
    if wanted.size <= 4:
        out = np.zeros(labels.shape, bool)
        for label in wanted.tolist():
            out |= labels == label
        return out
    lut = np.zeros(int(wanted.max()) + 2, bool)  # labels past the wanted ones clip onto the last, False
    lut[wanted] = True
    return lut.take(labels, mode="clip")


def run_boxes(runs: tuple[np.ndarray, np.ndarray, np.ndarray], label: np.ndarray) -> np.ndarray:
    """`component_boxes` of the labels `run_components` gives (or of any runs (rows, starts, ends) and
    their labels), from the runs alone: no image of the labels is read (a 600x200 number's 0.3 ms,
    where its runs are a few hundred)."""
    rows, starts, ends = runs
    boxes = np.empty((int(label.max(initial=0)) + 1, 4), np.int64)
    boxes[:, 0::2] = np.iinfo(np.int64).max
    boxes[:, 1::2] = -1
    for k, low, high in ((0, rows, rows), (2, starts, ends - 1)):
        np.minimum.at(boxes[:, k], label, low)
        np.maximum.at(boxes[:, k + 1], label, high)
    return boxes


def component_boxes(labels: np.ndarray) -> np.ndarray:
    """(count + 1, 4): rows y0, y1 and columns x0, x1 (inclusive) of each label's pixels; row 0 (the
    background) and labels without pixels hold y0 > y1. From the rows' runs of one label, some 20x
    fewer than the pixels."""
    h, w = labels.shape
    changes = np.empty((h, w + 1), bool)  # where a run of one label starts (or the last one ends)
    np.not_equal(labels[:, :1], 0, out=changes[:, :1])
    np.not_equal(labels[:, 1:], labels[:, :-1], out=changes[:, 1:w])
    np.not_equal(labels[:, -1:], 0, out=changes[:, w:])
    rows, cols = nonzero(changes)
    which = labels[rows, np.minimum(cols, w - 1)]
    # A run of a label (not the background, nor past the row's end) always ends at the next change.
    runs = np.flatnonzero((which != 0) & (cols < w))
    return run_boxes((rows[runs], cols[runs], cols[runs + 1]), which[runs])


def morph(x: np.ndarray, radius: int) -> np.ndarray:
    """Grow (radius > 0) or shrink (radius < 0) bright strokes by |radius| px, alternating 3x3 square
    and cross steps so that the result is close to isotropic."""
    pick = np.maximum if radius > 0 else np.minimum
    h, w = x.shape
    for step in range(abs(radius)):
        p = pad(x, (1, 1), (1, 1), edge=True)
        shifts = [(1, 1), (0, 1), (2, 1), (1, 0), (1, 2)]
        if step % 2 == 0:
            shifts += [(0, 0), (0, 2), (2, 0), (2, 2)]
        x = pick.reduce([p[i:i + h, j:j + w] for i, j in shifts])
    return x
